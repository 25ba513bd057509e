from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api

from ..models import Article, ArticleRevision, Category, Feedback, Status

REF_HELP = "Id, number (`KB-00042`) or slug."


class ArticleListSerializer(api.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    snippet = serializers.SerializerMethodField(
        help_text="With `q`: the best passage, safe HTML with the matched words in <mark>."
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "number",
            "slug",
            "title",
            "summary",
            "category",
            "tags",
            "status",
            "is_internal",
            "is_pinned",
            "view_count",
            "rating_average",
            "rating_count",
            "helpful_count",
            "not_helpful_count",
            "published_at",
            "updated_at",
            "snippet",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_snippet(self, article):
        return getattr(article, "search_snippet", None)


class RelatedArticleSerializer(api.ModelSerializer):
    class Meta:
        model = Article
        fields = ["id", "number", "slug", "title"]
        read_only_fields = fields


class ArticleSerializer(ArticleListSerializer):
    related = serializers.SerializerMethodField()

    class Meta(ArticleListSerializer.Meta):
        fields = [
            *[f for f in ArticleListSerializer.Meta.fields if f != "snippet"],
            "content",
            "content_html",
            "keywords",
            "search_boost",
            "related",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RelatedArticleSerializer(many=True))
    def get_related(self, article):
        from ..selectors import related_for

        visible = related_for(article, self.context["request"].user)
        return RelatedArticleSerializer(visible, many=True).data


class ArticleWriteSerializer(api.Serializer):
    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    content = serializers.CharField(
        required=False, allow_blank=True, max_length=200_000, help_text="Markdown."
    )
    category = serializers.ChoiceField(choices=Category.choices)
    tags = serializers.ListField(
        child=serializers.SlugField(max_length=50), required=False, max_length=20
    )
    keywords = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_internal = serializers.BooleanField(required=False)
    is_pinned = serializers.BooleanField(required=False, help_text="Support leads only.")
    search_boost = serializers.FloatField(
        min_value=0, max_value=5, required=False, help_text="Support leads only."
    )
    related = api.ScopedPrimaryKeyRelatedField(
        many=True,
        scope=lambda context: Article.objects.all(),
        required=False,
        help_text="Ids of related articles (replaces the list).",
    )
    note = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="What changed (revisions)."
    )


class ArticleStatusSerializer(api.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class FeedbackSerializer(api.ModelSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    helpful = serializers.BooleanField(required=False, allow_null=True)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class Meta:
        model = Feedback
        fields = ["rating", "helpful", "comment", "updated_at"]
        read_only_fields = ["updated_at"]


class RevisionSerializer(api.ModelSerializer):
    editor = serializers.SerializerMethodField()

    class Meta:
        model = ArticleRevision
        fields = ["number", "title", "summary", "content", "editor", "note", "created_at"]
        read_only_fields = fields

    def get_editor(self, revision) -> str | None:
        return revision.editor.display_name if revision.editor_id else None
