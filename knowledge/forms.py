import re

from django import forms

from .models import Article, Category, Status

CONTENT_MAX_LENGTH = 200_000
_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


def article_numbers(text: str) -> list[str]:
    """The article numbers in `text` (separated by commas, semicolons or spaces), upper-cased
    as they are stored ("kb-00042" finds KB-00042), in order, once each."""
    return list(dict.fromkeys(n.upper() for n in _NUMBER_SEPARATORS.split(text or "") if n))


class RelatedArticlesField(forms.ModelMultipleChoiceField):
    """Related articles by number: the ticked boxes (`related`, the current ones and those
    picked by searching), each value a number."""

    def __init__(self, **kwargs):
        super().__init__(
            queryset=Article.objects.all(),
            to_field_name="number",
            required=False,
            error_messages={"invalid_choice": "No article %(value)s."},
            **kwargs,
        )

    def clean(self, value):
        numbers = [n for item in value or () for n in article_numbers(item)]
        return super().clean(numbers)


class ArticleForm(forms.Form):
    """An article's fields as authors edit them; pinning and boost for editors only."""

    title = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=120, required=False, help_text="Blank: made from the title.")
    summary = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(choices=Category.choices)
    tags = forms.CharField(max_length=1000, required=False, help_text="Separated by commas.")
    keywords = forms.CharField(
        max_length=500, required=False, help_text="Words people search with that the text lacks."
    )
    is_internal = forms.BooleanField(required=False, label="Internal (staff only)")
    is_pinned = forms.BooleanField(required=False, label="Pinned (first among its matches)")
    search_boost = forms.FloatField(
        min_value=0, max_value=5, initial=0, label="Search boost", help_text="0 to 5."
    )
    content = forms.CharField(
        max_length=CONTENT_MAX_LENGTH,
        required=False,
        label="Content (Markdown)",
        widget=forms.Textarea(attrs={"rows": 18, "class": "markdown"}),
    )
    related = RelatedArticlesField(label="Related articles")
    add_related = forms.CharField(
        max_length=500,
        required=False,
        label="Add related articles by number",
        help_text="For example KB-00042, KB-00043.",
    )
    note = forms.CharField(
        max_length=200, required=False, label="What changed", help_text="Kept with the revision."
    )

    def __init__(self, *args, can_publish: bool, editing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_publish:
            del self.fields["is_pinned"]
            del self.fields["search_boost"]
        if not editing:
            del self.fields["note"]

    def clean_tags(self):
        return [name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()]

    def clean_add_related(self):
        numbers = article_numbers(self.cleaned_data["add_related"])
        found = {a.number: a for a in Article.objects.filter(number__in=numbers)}
        unknown = [n for n in numbers if n not in found]
        if unknown:
            raise forms.ValidationError(f"No article {', '.join(unknown)}.")
        return [found[n] for n in numbers]

    def related_articles(self) -> list:
        """The ticked and the typed related articles, once each."""
        chosen = [*self.cleaned_data.get("related", ()), *self.cleaned_data.get("add_related", ())]
        return list({a.pk: a for a in chosen}.values())

    def article_fields(self) -> dict:
        """The cleaned fields as the services take them (tags, related and note apart)."""
        apart = ("tags", "note", "related", "add_related")
        return {k: v for k, v in self.cleaned_data.items() if k not in apart}


def initial_of(article) -> dict:
    return {
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "category": article.category,
        "tags": ", ".join(tag.name for tag in article.tags.all()),
        "keywords": article.keywords,
        "is_internal": article.is_internal,
        "is_pinned": article.is_pinned,
        "search_boost": article.search_boost,
        "content": article.content,
        "related": [a.number for a in article.related.all()],
    }


class DeskFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    category = forms.ChoiceField(choices=[("", "Any category"), *Category.choices], required=False)


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int, choices=[(n, n) for n in range(1, 6)], widget=forms.RadioSelect
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )
