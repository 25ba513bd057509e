from django import forms

from .models import Category, Status

CONTENT_MAX_LENGTH = 200_000


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

    def article_fields(self) -> dict:
        """The cleaned fields as the services take them (tags and note apart)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("tags", "note")}


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
