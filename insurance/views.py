"""Server-rendered insurance pages: the reviewers' queue and document page on the desk, and
"My insurance" in the help center. They call the same selectors and services as the API; a
document the user may not see is a 404 (`selectors.documents_for`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.attachments import file_response
from core.errors import DomainError
from core.paging import page_of

from . import selectors, services
from .forms import InfoRequestForm, ProvideForm, ReasonForm, SubmitForm
from .models import document_storage
from .permissions import can_review, can_submit, can_use_insurance
from .workflow import DOCUMENT, REVIEWER

PAGE_SIZE = 50


def _document_or_404(user, pk):
    document = selectors.with_details(selectors.documents_for(user)).filter(pk=pk).first()
    if document is None:
        raise Http404("No such document.")
    return document


def _error_text(exc) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if hasattr(exc, "message_dict"):
        return " ".join(f"{m}" for messages_ in exc.message_dict.values() for m in messages_)
    return " ".join(exc.messages)


def _reviewers_only(request):
    if not can_review(request.user):
        return render(request, "insurance/not_reviewer.html", status=403)
    return None


def _page_context(document, user):
    return {
        "document": document,
        "outstanding": selectors.outstanding_items(document),
        "next_reminder": selectors.next_reminder(document),
        "requests": document.info_requests.prefetch_related("items").order_by("-created_at"),
        "activities": selectors.activities_of(document),
        "previewable": document.content_type.startswith("image/"),
    }


# --- files (permission-checked) -----------------------------------------------------------------


@login_required
@require_GET
def document_file(request, pk):
    document = _document_or_404(request.user, pk)
    services.record_download(document=document, by=request.user, file=document.file_name)
    return file_response(
        document_storage(),
        document.file.name,
        filename=document.file_name,
        content_type=document.content_type,
    )


@login_required
@require_GET
def item_file(request, pk, item):
    document = _document_or_404(request.user, pk)
    answered = selectors.answered_items(document).filter(pk=item).first()
    if answered is None:
        raise Http404("No such file.")
    services.record_download(
        document=document, by=request.user, item=answered.pk, file=answered.file_name
    )
    return file_response(
        document_storage(),
        answered.file.name,
        filename=answered.file_name,
        content_type=answered.content_type,
    )


# --- desk: the reviewers ------------------------------------------------------------------------


@login_required
@require_GET
def desk_queue(request):
    refused = _reviewers_only(request)
    if refused:
        return refused
    name = request.GET.get("queue", "pending")
    if name not in selectors.QUEUES:
        name = "pending"
    queues = [(key, label) for key, (label, _) in selectors.QUEUES.items()]
    context = {
        "queues": queues,
        "queue": name,
        "queue_label": dict(queues)[name],
        "page": page_of(selectors.queue(name), request.GET.get("page"), PAGE_SIZE),
        "page_query": f"queue={name}&",
    }
    return render(request, "insurance/desk/queue.html", context)


@login_required
@require_GET
def desk_document(request, pk):
    refused = _reviewers_only(request)
    if refused:
        return refused
    document = _document_or_404(request.user, pk)
    context = _page_context(document, request.user)
    context.update(
        allowed=DOCUMENT.allowed(document.status, party=REVIEWER),
        reason_form=ReasonForm(),
        request_form=InfoRequestForm(),
    )
    return render(request, "insurance/desk/document.html", context)


DESK_ACTIONS = {
    "start-review": lambda document, by, post: services.start_review(document=document, by=by),
    "approve": lambda document, by, post: services.approve(
        document=document, by=by, reason=post.get("reason", "")
    ),
    "reject": lambda document, by, post: services.reject(
        document=document, by=by, reason=post.get("reason", "")
    ),
    "remind": lambda document, by, post: services.remind(document=document, by=by),
}
DONE = {
    "start-review": "Review started.",
    "approve": "Approved; the expiry reminders are scheduled.",
    "reject": "Rejected; the owner has been told why.",
    "remind": "A reminder goes out with the next sweep (within a minute).",
    "request-info": "The owner has been asked for the items.",
}


@login_required
@require_POST
def desk_action(request, pk, step):
    refused = _reviewers_only(request)
    if refused:
        return refused
    document = _document_or_404(request.user, pk)
    try:
        if step == "request-info":
            form = InfoRequestForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.get("items") or "Check the checklist.")
            services.request_info(
                document=document,
                by=request.user,
                items=form.cleaned_data["items"],
                message=form.cleaned_data["message"],
            )
        elif step in DESK_ACTIONS:
            DESK_ACTIONS[step](document, request.user, request.POST)
        else:
            raise Http404("No such action.")
    except (DomainError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, DONE[step])
    return redirect("insurance-desk-document", pk=document.pk)


# --- help center: the owners --------------------------------------------------------------------


@login_required
def my_insurance(request):
    if not can_use_insurance(request.user) or not can_submit(request.user):
        context = {"can_review": can_review(request.user)}
        return render(request, "insurance/not_owner.html", context, status=403)
    form = SubmitForm()
    if request.method == "POST":
        form = SubmitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                document = services.submit(by=request.user, **form.cleaned_data)
            except (DomainError, ValidationError) as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, "Thank you; a reviewer will look at it.")
                return redirect("insurance-help-document", pk=document.pk)
    documents = selectors.with_details(selectors.documents_for(request.user))
    context = {
        "form": form,
        "page": page_of(documents, request.GET.get("page"), PAGE_SIZE),
        "page_query": "",
    }
    return render(request, "insurance/help/list.html", context, status=400 if form.errors else 200)


@login_required
def my_document(request, pk):
    document = _document_or_404(request.user, pk)
    if document.owner_id != request.user.pk:
        raise Http404("No such document.")
    context = _page_context(document, request.user)
    context.update(provide_form=ProvideForm(), replace_form=SubmitForm(initial=_policy(document)))
    return render(request, "insurance/help/document.html", context)


def _policy(document) -> dict:
    return {name: getattr(document, name) for name in services.POLICY_FIELDS}


@login_required
@require_POST
def my_document_provide(request, pk, item):
    document = _document_or_404(request.user, pk)
    answerable = selectors.outstanding_items_queryset(document).filter(pk=item).first()
    form = ProvideForm(request.POST, request.FILES)
    if answerable is None:
        messages.error(request, "That item is answered already.")
    elif not form.is_valid():
        messages.error(request, "Choose a file to send.")
    else:
        try:
            services.provide_info(
                document=document,
                by=request.user,
                item=answerable,
                file=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"Thank you: {answerable.needed} received.")
    return redirect("insurance-help-document", pk=document.pk)


@login_required
@require_POST
def my_document_replace(request, pk):
    document = _document_or_404(request.user, pk)
    form = SubmitForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Fill in every field and choose the new file.")
        return redirect("insurance-help-document", pk=document.pk)
    try:
        newer = services.replace(document=document, by=request.user, **form.cleaned_data)
    except (DomainError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
        return redirect("insurance-help-document", pk=document.pk)
    messages.success(request, "The new version is submitted.")
    return redirect("insurance-help-document", pk=newer.pk)
