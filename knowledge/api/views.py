"""The knowledge API: articles for everyone to read (public ones), for staff to write."""

import re

import django_filters
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, IsAuthenticatedUser, allows
from core.inputs import parse_id

from .. import services
from ..models import Category, Status
from ..permissions import can_write
from ..selectors import LIST_UNUSED, articles_for, find_articles, with_details
from . import serializers as s

ARTICLE_NUMBER = re.compile(r"[Kk][Bb]-[0-9]+")
ARTICLE_REF = r"[-a-zA-Z0-9_]+"  # an id, a number (KB-00042) or a slug
# A list shows none of these (about 5 kB a row; snippets are made in SQL).

ARTICLE_EXAMPLE = OpenApiExample(
    "New article",
    value={
        "title": "Reset your password",
        "category": "how_to",
        "summary": "Get a new password link by e-mail.",
        "content": "1. Choose **Forgot password**.\n2. Open the link we send you.",
        "tags": ["account", "password"],
        "keywords": "forgot login",
    },
    request_only=True,
)


class ArticleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="noop",
        help_text=(
            'Web-search syntax: words, "an exact phrase", -excluded, or. Best first. '
            "A search matching more than 100 articles ranks the 100 most prominent "
            "(pinned, boosted, most read)."
        ),
    )
    category = django_filters.ChoiceFilter(choices=Category.choices, method="noop")
    tag = django_filters.CharFilter(method="noop")
    status = django_filters.ChoiceFilter(
        choices=Status.choices, method="noop", help_text="Within what the caller may see."
    )

    def noop(self, queryset, name, value):
        return queryset  # validated here, applied by the selector (search needs them together)


def article_lookup(queryset, ref: str):
    pk = parse_id(ref)
    if pk is not None:
        return get_object_or_404(queryset, pk=pk)
    if ARTICLE_NUMBER.fullmatch(ref):
        return get_object_or_404(queryset, number=ref.upper())
    if not re.fullmatch(ARTICLE_REF, ref):
        raise Http404
    return get_object_or_404(queryset, slug=ref)


class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Published public articles for everyone; internal ones, drafts and writing for staff."""

    lookup_value_regex = ARTICLE_REF
    filterset_class = ArticleFilter
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "list": [AllowAny],
        "retrieve": [AllowAny],
        "create": [allows(can_write)],
        "partial_update": [allows(can_write)],
        "change_status": [allows(can_write)],
        "revisions": [allows(can_write)],
        "restore": [allows(can_write)],
        "feedback": [IsAuthenticatedUser],
    }

    def get_queryset(self):
        return with_details(articles_for(self.request.user))

    def get_serializer_class(self):
        return s.ArticleListSerializer if self.action == "list" else s.ArticleSerializer

    def get_object(self):
        article = article_lookup(self.get_queryset(), self.kwargs["pk"])
        self.check_object_permissions(self.request, article)
        return article

    def filter_queryset(self, queryset):
        filters = self.filterset_class(self.request.query_params, queryset, request=self.request)
        if not filters.is_valid():
            from rest_framework.exceptions import ValidationError

            raise ValidationError(filters.errors)
        wanted = filters.form.cleaned_data
        query = (wanted.get("q") or "").strip()
        if query:
            return find_articles(
                self.request.user,
                query,
                category=wanted.get("category") or "",
                tag=wanted.get("tag") or "",
                status=wanted.get("status") or "",
            ).prefetch_related("tags")
        if wanted.get("category"):
            queryset = queryset.filter(category=wanted["category"])
        if wanted.get("tag"):
            queryset = queryset.filter(tags__name=wanted["tag"])
        if wanted.get("status"):
            queryset = queryset.filter(status=wanted["status"])
        return queryset.defer(*LIST_UNUSED).order_by("-is_pinned", "title", "pk")

    @extend_schema(summary="List or search articles")
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        query = (request.query_params.get("q") or "").strip()
        first_page = request.query_params.get("page") in (None, "1")
        if query and first_page and not response.data["results"]:
            services.record_unanswered(query)
        return response

    @extend_schema(summary="An article by id, number or slug")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def _detail(self, article, code=status.HTTP_200_OK):
        fresh = with_details(articles_for(self.request.user)).get(pk=article.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        summary="Write an article (staff; it starts as a draft)",
        request=s.ArticleWriteSerializer,
        responses={201: s.ArticleSerializer},
        examples=[ARTICLE_EXAMPLE],
    )
    def create(self, request, *args, **kwargs):
        data = s.ArticleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("note", None)
        related = values.pop("related", None)
        with transaction.atomic():
            article = services.create_article(by=request.user, **values)
            if related is not None:
                services.set_related(article=article, by=request.user, related=related)
        return self._detail(article, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an article (staff); a change of text keeps a revision",
        request=s.ArticleWriteSerializer(partial=True),
        responses={200: s.ArticleSerializer},
        examples=[
            OpenApiExample(
                "Fix a step",
                value={"content": "1. Choose **Forgot password**.", "note": "Clearer step"},
                request_only=True,
            )
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        article = self.get_object()
        data = s.ArticleWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        note = values.pop("note", "")
        related = values.pop("related", None)
        with transaction.atomic():
            article = services.update_article(article=article, by=request.user, note=note, **values)
            if related is not None:
                services.set_related(article=article, by=request.user, related=related)
        return self._detail(article)

    @extend_schema(
        summary="Move to another status (review, publish, archive)",
        request=s.ArticleStatusSerializer,
        responses={200: s.ArticleSerializer},
        examples=[
            OpenApiExample("Send for review", value={"status": "in_review"}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"], url_path="status", filter_backends=[])
    def change_status(self, request, pk=None):
        article = self.get_object()
        data = s.ArticleStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        article = services.change_status(
            article=article,
            by=request.user,
            to=data.validated_data["status"],
            note=data.validated_data["note"],
        )
        return self._detail(article)

    @extend_schema(
        summary="Rate it or say whether it helped (one answer per person, changeable)",
        request=s.FeedbackSerializer,
        responses={200: s.FeedbackSerializer},
        examples=[
            OpenApiExample(
                "Helpful, five stars", value={"rating": 5, "helpful": True}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def feedback(self, request, pk=None):
        article = self.get_object()
        data = s.FeedbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.give_feedback(article=article, user=request.user, **data.validated_data)
        return Response(s.FeedbackSerializer(feedback).data)

    @extend_schema(
        summary="Revisions, newest first (staff)",
        responses={200: s.RevisionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def revisions(self, request, pk=None):
        article = self.get_object()
        queryset = article.revisions.select_related("editor").order_by("-number")
        paginator = UncountedPageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(s.RevisionSerializer(page, many=True).data)

    @extend_schema(
        summary="Make a revision's text current again (staff; kept as a new revision)",
        request=None,
        responses={200: s.ArticleSerializer},
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"revisions/(?P<number>[0-9]{1,9})/restore",
        filter_backends=[],
    )
    def restore(self, request, pk=None, number=None):
        article = self.get_object()
        revision = get_object_or_404(article.revisions, number=int(number))
        article = services.restore_revision(article=article, revision=revision, by=request.user)
        return self._detail(article)
