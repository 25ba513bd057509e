"""Server-rendered booking pages: "My bookings" for customers and "My jobs" for technicians in
the help center, support's "pending completion" queue and booking page on the desk, and the page
a signed approve/reject link opens. They call the same selectors and services as the API; a
booking the user may not see is a 404 (`selectors.bookings_for`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.paging import page_of

from . import links, selectors, services
from .forms import (
    ApproveForm,
    BookingForm,
    CancelForm,
    CompleteForm,
    ContactAttemptForm,
    RejectForm,
    RequestCompletionForm,
    ReviewForm,
)
from .models import Booking, Status
from .permissions import booking_actions, can_manage, is_technician

PAGE_SIZE = 50


def _booking_or_404(queryset, pk) -> Booking:
    booking = queryset.filter(pk=pk).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def _context(booking, user, **more):
    context = {
        "booking": booking,
        "events": selectors.events_of(booking, user),
        "review": getattr(booking, "review", None),  # select_related: no query
        "can": booking_actions(user, booking),
    }
    context.update(more)
    return context


def _done(request, exc=None, success=""):
    if exc is not None:
        messages.error(request, exc.message)
    elif success:
        messages.success(request, success)


# --- help center: customers ---------------------------------------------------------------------


@login_required
@require_GET
def my_bookings(request):
    bookings = selectors.customer_bookings(request.user)
    context = {"page": page_of(bookings, request.GET.get("page"), PAGE_SIZE), "page_query": ""}
    return render(request, "bookings/help/list.html", context)


@login_required
@require_GET
def my_booking(request, pk):
    booking = _booking_or_404(selectors.customer_bookings(request.user), pk)
    context = _context(
        booking,
        request.user,
        approve_form=ApproveForm(),
        reject_form=RejectForm(),
        review_form=ReviewForm(),
    )
    return render(request, "bookings/help/booking.html", context)


CUSTOMER_STEPS = {
    "approve": (ApproveForm, lambda b, by, data: services.approve(booking=b, by=by, **data),
                "Thank you: the job is confirmed."),
    "reject": (RejectForm, lambda b, by, data: services.reject(booking=b, by=by, **data),
               "Thank you: our support team will be in touch about what is not right."),
    "review": (ReviewForm, lambda b, by, data: services.leave_review(booking=b, by=by, **data),
               "Thank you for your review."),
}  # fmt: skip


@login_required
@require_POST
def my_booking_action(request, pk, step):
    booking = _booking_or_404(selectors.customer_bookings(request.user), pk)
    if step not in CUSTOMER_STEPS:
        raise Http404("No such action.")
    form_class, act, success = CUSTOMER_STEPS[step]
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect("bookings-help-booking", pk=booking.pk)
    try:
        act(booking, request.user, form.cleaned_data)
    except DomainError as exc:
        _done(request, exc)
    else:
        _done(request, success=success)
    return redirect("bookings-help-booking", pk=booking.pk)


# --- the signed link of a completion e-mail -----------------------------------------------------


def _link_booking(token):
    """The booking and answer of a valid link; `LinkRefused` otherwise (forged, expired, used)."""
    answer = links.read_token(token)
    booking = (
        Booking.objects.select_related("customer", "technician")
        .filter(pk=answer.booking_id)
        .first()
    )
    if (
        booking is None
        or booking.status != Status.PENDING_COMPLETION
        or not booking.link_nonce
        or booking.link_nonce != answer.nonce
        or not booking.customer.is_active
    ):
        raise links.LinkRefused(
            "This link has already been used or was replaced by a newer one.", code="link_used"
        )
    return booking, answer


@require_http_methods(["GET", "POST"])
def answer_by_link(request, token):
    try:
        booking, answer = _link_booking(token)
    except links.LinkRefused as exc:
        return render(request, "bookings/help/link_refused.html", {"message": exc.message},
                      status=400)  # fmt: skip
    form_class = ApproveForm if answer.answer == "approve" else RejectForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        act = services.approve if answer.answer == "approve" else services.reject
        try:
            act(booking=booking, by=booking.customer, nonce=answer.nonce, **form.cleaned_data)
        except DomainError as exc:
            return render(request, "bookings/help/link_refused.html", {"message": exc.message},
                          status=exc.status_code)  # fmt: skip
        return render(
            request, "bookings/help/link_done.html", {"booking": booking, "answer": answer.answer}
        )
    context = {"booking": booking, "answer": answer.answer, "form": form}
    return render(request, "bookings/help/link_answer.html", context,
                  status=400 if form.errors else 200)  # fmt: skip


# --- help center: technicians -------------------------------------------------------------------


def _technicians_only(request):
    if not is_technician(request.user):
        return render(request, "bookings/not_technician.html", status=403)
    return None


@login_required
@require_GET
def my_jobs(request):
    if refused := _technicians_only(request):
        return refused
    jobs = selectors.technician_jobs(request.user).exclude(status=Status.CANCELLED)
    context = {"page": page_of(jobs, request.GET.get("page"), PAGE_SIZE), "page_query": ""}
    return render(request, "bookings/jobs/list.html", context)


@login_required
@require_GET
def my_job(request, pk):
    if refused := _technicians_only(request):
        return refused
    booking = _booking_or_404(selectors.technician_jobs(request.user), pk)
    context = _context(booking, request.user, completion_form=RequestCompletionForm())
    return render(request, "bookings/jobs/booking.html", context)


@login_required
@require_POST
def my_job_action(request, pk, step):
    if refused := _technicians_only(request):
        return refused
    booking = _booking_or_404(selectors.technician_jobs(request.user), pk)
    try:
        if step == "start":
            services.start(booking=booking, by=request.user)
            success = "The job is under way."
        elif step == "request-completion":
            form = RequestCompletionForm(request.POST)
            note = form.cleaned_data["note"] if form.is_valid() else ""
            services.request_completion(booking=booking, by=request.user, note=note)
            success = "The customer has been asked to confirm the job."
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        _done(request, exc)
    else:
        _done(request, success=success)
    return redirect("bookings-job", pk=booking.pk)


# --- desk: support ------------------------------------------------------------------------------


def _staff_only(request):
    if not can_manage(request.user):
        return render(request, "403.html", status=403)
    return None


@login_required
@require_GET
def desk_queue(request):
    if refused := _staff_only(request):
        return refused
    name = request.GET.get("queue", "pending")
    if name not in DESK_QUEUES:
        name = "pending"
    label, rows = DESK_QUEUES[name]
    context = {
        "queues": [(key, title) for key, (title, _) in DESK_QUEUES.items()],
        "queue": name,
        "queue_label": label,
        "page": page_of(rows(request.user), request.GET.get("page"), PAGE_SIZE),
        "page_query": f"queue={name}&",
    }
    return render(request, "bookings/desk/queue.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def desk_new_booking(request):
    if refused := _staff_only(request):
        return refused
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking = services.create_booking(
                by=request.user,
                customer=data["customer"],
                technician=data["technician"],
                service=data["service"],
                location=data["location"],
                scheduled_at=data["scheduled_at"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{booking.number} is booked.")
            return redirect("bookings-desk-booking", pk=booking.pk)
    return render(request, "bookings/desk/new.html", {"form": form},
                  status=400 if form.errors else 200)  # fmt: skip


DESK_QUEUES = {
    "pending": ("Pending completion", lambda user: selectors.pending_completion()),
    "all": ("All bookings", lambda user: selectors.latest_first(selectors.bookings_for(user))),
}


@login_required
@require_GET
def desk_booking(request, pk):
    if refused := _staff_only(request):
        return refused
    booking = _booking_or_404(selectors.bookings_for(request.user), pk)
    context = _context(
        booking,
        request.user,
        attempts=selectors.contact_attempts_of(booking),
        contact_form=ContactAttemptForm(),
        complete_form=CompleteForm(),
        cancel_form=CancelForm(),
    )
    return render(request, "bookings/desk/booking.html", context)


DESK_STEPS = {
    "follow-up": (None, lambda b, by, data: services.initiate_follow_up(booking=b, by=by),
                  "Follow-up started; a support ticket is open for it."),
    "contact": (ContactAttemptForm,
                lambda b, by, data: services.log_contact_attempt(booking=b, by=by, **data),
                "Contact attempt logged."),
    "complete": (CompleteForm, lambda b, by, data: services.complete(booking=b, by=by, **data),
                 "Booking completed."),
    "cancel": (CancelForm, lambda b, by, data: services.cancel(booking=b, by=by, **data),
               "Booking cancelled."),
}  # fmt: skip


@login_required
@require_POST
def desk_action(request, pk, step):
    if refused := _staff_only(request):
        return refused
    booking = _booking_or_404(selectors.bookings_for(request.user), pk)
    if step not in DESK_STEPS:
        raise Http404("No such action.")
    form_class, act, success = DESK_STEPS[step]
    data = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
            return redirect("bookings-desk-booking", pk=booking.pk)
        data = form.cleaned_data
    try:
        act(booking, request.user, data)
    except DomainError as exc:
        _done(request, exc)
    else:
        _done(request, success=success)
    return redirect("bookings-desk-booking", pk=booking.pk)


def ticket_booking_panel(request, ticket):
    """On a ticket's page (`core.shell` panel): the booking the ticket is about, with its state;
    staff get a link to its follow-up on the desk, its customer to "My bookings" (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    staff = can_manage(user)
    bookings = [
        booking
        for booking in selectors.bookings_of_ticket(ticket)
        if staff or booking.customer_id == user.pk
    ]
    if not bookings:
        return None
    return "bookings/_ticket_panel.html", {"ticket_bookings": bookings, "staff": staff}
