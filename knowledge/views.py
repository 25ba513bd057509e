"""Server-rendered knowledge base pages: the help center's articles and the desk's authoring.

They call the same selectors and services as the API; what a visitor may read is decided by
`selectors.articles_for` alone (an internal article or a draft is a 404 for a customer).
"""

import difflib
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.paging import page_of

from . import markdown, panels, selectors, services, viewcounts
from .forms import (
    CONTENT_MAX_LENGTH,
    ArticleForm,
    DeskFilterForm,
    RatingForm,
    article_numbers,
    initial_of,
)
from .models import Article, Category, Status
from .permissions import (
    can_publish,
    can_see_insights,
    can_see_unanswered,
    can_see_unpublished,
    can_write,
    party_of,
)
from .workflow import ARTICLE

HELP_PAGE_SIZE = 20
DESK_PAGE_SIZE = 50
SUGGESTIONS = 5
RELATED_OPTIONS = 8
DEFAULT_INSIGHT_DAYS = 30
QUERY_MAX_LENGTH = 200
CATEGORY_LABELS = dict(Category.choices)
STATUS_LABELS = dict(Status.choices)


def _help_article_or_404(user, slug):
    article = selectors.with_details(selectors.articles_for(user)).filter(slug=slug).first()
    if article is None:
        raise Http404("No such article.")
    return article


def _category_or_empty(value) -> str:
    return value if value in CATEGORY_LABELS else ""


# --- help center ---------------------------------------------------------------------------


@require_GET
def kb_home(request):
    user = request.user
    context = {
        "categories": selectors.category_counts(user),
        "pinned": list(selectors.pinned(user)),
        "popular": list(selectors.popular(user)),
        "category_choices": Category.choices,
    }
    return render(request, "knowledge/help/home.html", context)


@require_GET
def kb_category(request, category):
    if category not in CATEGORY_LABELS:
        raise Http404("No such category.")
    articles = selectors.help_articles(request.user).filter(category=category)
    context = {
        "category": category,
        "category_label": CATEGORY_LABELS[category],
        "page": page_of(articles, request.GET.get("page"), HELP_PAGE_SIZE),
    }
    return render(request, "knowledge/help/category.html", context)


@require_GET
def kb_search(request):
    q = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    category = _category_or_empty(request.GET.get("category", ""))
    page = None
    if q:
        found = selectors.find_articles(request.user, q, category=category, status=Status.PUBLISHED)
        page = page_of(found, request.GET.get("page"), HELP_PAGE_SIZE)
        if page.number == 1 and not page.object_list:
            services.record_unanswered(q)
    context = {
        "q": q,
        "category": category,
        "category_choices": Category.choices,
        "page": page,
        "page_query": urlencode({"q": q, "category": category}) + "&",
    }
    return render(request, "knowledge/help/search.html", context)


@require_GET
def kb_suggest(request):
    """Articles on what a customer is typing (the new-ticket page's subject, through htmx)."""
    text = (request.GET.get("q") or request.GET.get("subject") or "")[:QUERY_MAX_LENGTH]
    articles = selectors.suggested_for(request.user, text, limit=SUGGESTIONS, public_only=True)
    return render(request, "knowledge/help/_suggestions.html", {"suggestions": articles})


@require_GET
def kb_article(request, slug):
    article = _help_article_or_404(request.user, slug)
    viewcounts.record_view(request, article)
    if request.GET.get("from") == "suggestion" and not viewcounts.is_bot(
        request.META.get("HTTP_USER_AGENT", "")
    ):  # opened from the new-request form's suggestions: deflection, unless a request follows
        services.record_suggestion_opened(
            article=article, user=request.user, session_key=request.session.session_key or ""
        )
    return render(request, "knowledge/help/article.html", _article_context(request, article))


def _article_context(request, article, **extra) -> dict:
    session_key = request.session.session_key or ""
    current = selectors.feedback_of(article, user=request.user, session_key=session_key)
    rating_form = extra.pop("rating_form", None) or RatingForm(
        initial={"rating": current.rating, "comment": current.comment} if current else None
    )
    return {
        "article": article,
        "related": selectors.related_for(article, request.user),
        "feedback": current,
        "rating_form": rating_form,
        "helpful_percent": (
            round(article.helpful_share * 100) if article.helpful_share is not None else None
        ),
        "votes": article.helpful_count + article.not_helpful_count,
        **extra,
    }


def _visitor_session(request) -> str:
    """The visitor's session key, starting a session if they have none (feedback needs one)."""
    if not request.session.session_key:
        request.session["kb_visitor"] = True  # modified: the middleware sends the cookie
        request.session.save()
    return request.session.session_key


@require_POST
def kb_feedback(request, slug):
    article = _help_article_or_404(request.user, slug)
    session_key = "" if request.user.is_authenticated else _visitor_session(request)
    current = selectors.feedback_of(article, user=request.user, session_key=session_key)
    rating_form = None
    values = {}
    if "helpful" in request.POST:
        values["helpful"] = request.POST["helpful"] == "yes"
        values["comment"] = current.comment if current else ""  # a vote keeps the comment
    else:
        rating_form = RatingForm(request.POST)
        if rating_form.is_valid():
            values = rating_form.cleaned_data
    error = ""
    if values:
        try:
            services.give_feedback(
                article=article, user=request.user, session_key=session_key, **values
            )
        except DomainError as exc:
            error = exc.message
        else:
            rating_form = None
    if request.htmx:
        context = _article_context(
            request, article, rating_form=rating_form, feedback_error=error, thanked=not error
        )
        return render(request, "knowledge/help/_feedback.html", context)
    if error:
        messages.error(request, error)
    elif values:
        messages.success(request, "Thanks for your feedback.")
    else:
        messages.error(request, "Choose a rating from 1 to 5.")
    return redirect(reverse("kb-article", args=[article.slug]) + "#feedback")


# --- desk ----------------------------------------------------------------------------------


def _staff_only(request):
    if not can_write(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


def _desk_article_or_404(user, number):
    # Numbers are stored upper-case; a typed or pasted "kb-00042" finds the same article.
    queryset = selectors.articles_for(user).prefetch_related("tags", "related")
    article = queryset.filter(number=number.upper()).first()
    if article is None:
        raise Http404("No such article.")
    return article


def _form_errors(form, exc) -> None:
    """A service's refusal on the form: by field where it names fields the form has."""
    if isinstance(exc, ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    else:
        errors = exc.errors or {None: [exc.message]}
    for name, field_errors in errors.items():
        form.add_error(name if name in form.fields else None, field_errors)


@login_required
@require_GET
def desk_list(request):
    refused = _staff_only(request)
    if refused:
        return refused
    filters = DeskFilterForm(request.GET)
    filters.is_valid()
    chosen = {k: filters.cleaned_data.get(k) or "" for k in ("q", "status", "category")}
    articles = selectors.desk_articles(
        request.user,
        query=chosen["q"].strip(),
        status=chosen["status"],
        category=chosen["category"],
    )
    context = {
        "filters": filters,
        "page": page_of(articles, request.GET.get("page"), DESK_PAGE_SIZE),
        "page_query": urlencode(chosen) + "&",
        "searched": bool(chosen["q"].strip()),
        "can_see_unanswered": can_see_unanswered(request.user),
    }
    return render(request, "knowledge/desk/list.html", context)


@login_required
def desk_new(request):
    refused = _staff_only(request)
    if refused:
        return refused
    form = ArticleForm(
        request.POST or None,
        can_publish=can_publish(request.user),
        editing=False,
        initial={"title": request.GET.get("title", "")[:200]},
    )
    if request.method == "POST" and form.is_valid():
        fields = form.article_fields()
        try:
            with transaction.atomic():
                article = services.create_article(
                    by=request.user,
                    title=fields.pop("title"),
                    category=fields.pop("category"),
                    tags=form.cleaned_data["tags"],
                    **fields,
                )
                if form.related_articles():
                    services.set_related(
                        article=article, by=request.user, related=form.related_articles()
                    )
        except (DomainError, ValidationError) as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{article.number} saved as a draft.")
            return redirect("kb-desk-article", number=article.number)
    context = {"form": form, "article": None, "related_chosen": _related_chosen(form, None)}
    return render(request, "knowledge/desk/edit.html", context)


def _related_chosen(form, article) -> list:
    """The related articles the form shows ticked: those submitted (that exist), or the
    article's current ones."""
    if form.is_bound:
        if form.is_valid():
            chosen = form.related_articles()
        else:
            numbers = [n for v in form["related"].value() or () for n in article_numbers(v)]
            chosen = list(Article.objects.filter(number__in=numbers))
    else:
        chosen = list(article.related.all()) if article else []
    return sorted(chosen, key=lambda a: (a.title, a.pk))


@login_required
def desk_article(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    article = _desk_article_or_404(request.user, number)
    form = ArticleForm(
        request.POST or None,
        can_publish=can_publish(request.user),
        editing=True,
        initial=initial_of(article),
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # the fields and the related articles, or neither
                article = services.update_article(
                    article=article,
                    by=request.user,
                    tags=form.cleaned_data["tags"],
                    note=form.cleaned_data.get("note", ""),
                    **form.article_fields(),
                )
                services.set_related(
                    article=article, by=request.user, related=form.related_articles()
                )
        except (DomainError, ValidationError) as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("kb-desk-article", number=article.number)
    context = {
        "form": form,
        "article": article,
        "transitions": [
            (to, STATUS_LABELS[to])
            for to in ARTICLE.allowed(article.status, party=party_of(request.user))
        ],
        "revisions": list(selectors.revisions_of(article)),
        "related_chosen": _related_chosen(form, article),
        "article_panels": panels.article_panels_for(request, article),
    }
    return render(request, "knowledge/desk/edit.html", context)


@login_required
@require_POST
def desk_status(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    article = _desk_article_or_404(request.user, number)
    to = request.POST.get("to", "")
    try:
        services.change_status(
            article=article, by=request.user, to=to, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{article.number} is now {STATUS_LABELS[to].lower()}.")
    return redirect("kb-desk-article", number=article.number)


def _revision_or_404(article, number):
    revision = selectors.revisions_of(article).filter(number=number).first()
    if revision is None:
        raise Http404("No such revision.")
    return revision


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, line) of a unified diff from `old` to `new`: kind is add, del, hunk or same."""
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3)
    return [
        (kinds.get(line[:1], "same"), line) for line in lines if not line.startswith(("---", "+++"))
    ]


@login_required
@require_GET
def desk_revision(request, number, revision):
    refused = _staff_only(request)
    if refused:
        return refused
    article = _desk_article_or_404(request.user, number)
    revision = _revision_or_404(article, revision)
    context = {
        "article": article,
        "revision": revision,
        "diff": diff_lines(revision.content, article.content),
        "title_changed": revision.title != article.title,
        "summary_changed": revision.summary != article.summary,
    }
    return render(request, "knowledge/desk/revision.html", context)


@login_required
@require_POST
def desk_restore(request, number, revision):
    refused = _staff_only(request)
    if refused:
        return refused
    article = _desk_article_or_404(request.user, number)
    revision = _revision_or_404(article, revision)
    try:
        services.restore_revision(article=article, revision=revision, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revision {revision.number} restored.")
    return redirect("kb-desk-article", number=article.number)


@login_required
@require_POST
def desk_preview(request):
    """The Markdown of the editor as the help center will show it (htmx, as the author types)."""
    refused = _staff_only(request)
    if refused:
        return refused
    html = markdown.render(request.POST.get("content", "")[:CONTENT_MAX_LENGTH])
    return render(request, "knowledge/desk/_preview.html", {"html": html})


@login_required
@require_GET
def desk_related_options(request):
    """The editor's related-article picker (htmx, as the author types): the boxes already
    ticked in it (`related`), kept ticked, and articles matching `q` to tick, never the article
    itself (`article`) nor its current related ones."""
    refused = _staff_only(request)
    if refused:
        return refused
    picked = [n for v in request.GET.getlist("related") for n in article_numbers(v)]
    context = {
        "picked": list(selectors.articles_for(request.user).filter(number__in=picked)),
        "matches": selectors.related_candidates(
            request.user,
            request.GET.get("q", "")[:QUERY_MAX_LENGTH],
            article_number=request.GET.get("article", "").upper()[:20],
            exclude_numbers=picked,
            limit=RELATED_OPTIONS,
        ),
        "q": request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH],
    }
    return render(request, "knowledge/desk/_related_options.html", context)


@login_required
@require_GET
def desk_unanswered(request):
    if not can_see_unanswered(request.user):
        return render(request, "desk/not_staff.html", status=403)
    page = page_of(selectors.unanswered_searches(), request.GET.get("page"), DESK_PAGE_SIZE)
    return render(request, "knowledge/desk/unanswered.html", {"page": page})


@login_required
@require_GET
def desk_insights(request):
    """Deflection and the articles' health for the last 7, 30 or 90 days (30 unless chosen)."""
    if not can_see_insights(request.user):
        return render(request, "desk/not_staff.html", status=403)
    try:
        days = int(request.GET.get("days", ""))
    except ValueError:
        days = DEFAULT_INSIGHT_DAYS
    if days not in selectors.INSIGHT_PERIODS:
        days = DEFAULT_INSIGHT_DAYS
    context = {
        **selectors.insights(days=days),
        "periods": selectors.INSIGHT_PERIODS,
        "can_see_unanswered": can_see_unanswered(request.user),
    }
    return render(request, "knowledge/desk/insights.html", context)


# --- the desk ticket page's panel (wired in config/shell.py) -------------------------------


def suggested_articles_panel(request, ticket):
    """Up to five published articles on the ticket's subject, to read or send (one query)."""
    user = getattr(request, "user", None)
    if not can_see_unpublished(user):
        return None
    articles = selectors.suggested_for(user, ticket.subject, limit=SUGGESTIONS)
    shown = [
        (article, request.build_absolute_uri(reverse("kb-article", args=[article.slug])))
        for article in articles
    ]
    return "knowledge/desk/_ticket_panel.html", {"kb_suggestions": shown}
