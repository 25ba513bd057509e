"""The desk's queue: its views with their counts, filters and sort orders, as querysets.

Every view starts from `Ticket.objects.visible_to(user)`, so a view can only narrow what the
user may see. The counts of all views but "finished" come from one aggregate over the user's
active tickets (FILTER clauses), kept for a few seconds per user: the queue page polls.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone

from .models import Ticket
from .models.choices import ACTIVE_STATUSES, FINAL_STATUSES, Status
from .models.tickets import PRIORITY_RANK_EXPRESSION

COUNTS_SECONDS = 15


@dataclass(frozen=True)
class View:
    key: str
    label: str
    counted: bool = True


VIEWS = [
    View("mine", "My open"),
    View("unassigned", "Unassigned"),
    View("teams", "My teams"),
    View("at_risk", "At risk"),
    View("breached", "Breached"),
    View("waiting", "Waiting on customer"),
    View("all", "All open"),
    # Uncounted: a total over finished tickets would count most of the table on every visit.
    View("done", "Finished", counted=False),
]
VIEW_KEYS = {view.key for view in VIEWS}


def _breached(now) -> Q:
    return Q(response_breached=True) | Q(resolution_breached=True) | Q(sla_due_at__lte=now)


def _narrowing(key: str, user, *, now) -> Q:
    """What `key` asks of an active ticket (the "waiting" and "done" views are statuses)."""
    if key == "mine":
        return Q(assigned_to=user)
    if key == "unassigned":
        return Q(assigned_to__isnull=True)
    if key == "teams":
        # The ids, not a subquery: with none the view is empty without asking the database,
        # where an ordered scan would read every active ticket looking for a match.
        return Q(team_id__in=list(user.support_teams.values_list("pk", flat=True)))
    if key == "at_risk":
        warned = Q(response_warned=True) | Q(resolution_warned=True)
        return warned & ~_breached(now)
    if key == "breached":
        return _breached(now)
    if key == "waiting":
        return Q(status=Status.WAITING_ON_CUSTOMER)
    return Q()


def view_filter(key: str, user, *, now) -> Q:
    if key == "done":
        return Q(status__in=FINAL_STATUSES)
    if key == "waiting":
        return _narrowing(key, user, now=now)
    return Q(status__in=ACTIVE_STATUSES) & _narrowing(key, user, now=now)


def _counts_key(user) -> str:
    return f"support:queue-counts:{user.pk}"


def forget_counts(user) -> None:
    cache.delete(_counts_key(user))


def counts(user, *, now=None) -> dict[str, int]:
    """How many tickets each counted view holds for `user` (one query, cached briefly)."""
    key = _counts_key(user)
    cached = cache.get(key)
    if cached is not None:
        return cached
    now = now or timezone.now()
    visible = Ticket.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES)
    # Each FILTER tests only what its view adds to "active": repeating the status test in all
    # seven doubled the aggregate's cost over 100,000 active tickets.
    result = visible.aggregate(
        **{
            view.key: Count("pk", filter=_narrowing(view.key, user, now=now) or None)
            for view in VIEWS
            if view.counted
        }
    )
    cache.set(key, result, COUNTS_SECONDS)
    return result


# key: (label, ordering). Every ordering ends on a unique column, so pages never overlap, and
# each is the order of one of the ticket's partial indexes (see `Ticket.Meta.indexes`).
SORTS = {
    "due": ("SLA due", [F("sla_due_at").asc(nulls_last=True), "id"]),
    "priority": (
        "Priority",
        [PRIORITY_RANK_EXPRESSION.asc(), F("sla_due_at").asc(nulls_last=True), "-id"],
    ),
    "newest": ("Newest", ["-created_at", "-id"]),
    "oldest": ("Oldest", ["created_at", "id"]),
    "updated": ("Last update", ["-updated_at", "-id"]),
}
# A finished ticket has no running clock: SLA due and priority say nothing about it.
FINISHED_SORTS = ("updated", "newest", "oldest")


def sorts_for(view: str) -> dict[str, str]:
    """The orders the queue offers on `view`, key: label; the first is the default."""
    keys = FINISHED_SORTS if view == "done" else tuple(SORTS)
    return {key: SORTS[key][0] for key in keys}


def ordered(tickets, sort: str):
    return tickets.order_by(*SORTS.get(sort, SORTS["due"])[1])


# The queue page's own parameters; a saved view keeps these and nothing else.
SAVED_PARAMETERS = {
    "view", "q", "sort", "status", "priority", "category", "channel", "team", "agent", "tag",
    "customer", "organization", "created_from", "created_to",
}  # fmt: skip
MAX_SAVED_VIEWS = 20


def saved_query(query_string: str) -> str:
    """`query_string` reduced to the queue's own, non-empty parameters, in a stable order."""
    from urllib.parse import parse_qsl, urlencode

    pairs = [
        (key, value.strip())
        for key, value in parse_qsl(query_string, keep_blank_values=False)
        if key in SAVED_PARAMETERS and value.strip()
    ]
    return urlencode(sorted(dict(pairs).items()))


def save_view(*, user, name: str, query_string: str):
    """Save (or replace) `user`'s view called `name`; a user keeps at most MAX_SAVED_VIEWS."""
    from core.errors import DomainError

    from .models import SavedQueueView

    name = " ".join(name.split())[:60]
    if not name:
        raise DomainError("Give the view a name.", errors={"name": ["Required."]})
    query = saved_query(query_string)
    if not query:
        raise DomainError("Choose a view or a filter first: there is nothing to save.")
    existing = SavedQueueView.objects.filter(user=user, name=name).first()
    if existing is None and SavedQueueView.objects.filter(user=user).count() >= MAX_SAVED_VIEWS:
        raise DomainError(f"You can keep {MAX_SAVED_VIEWS} views; delete one first.")
    view, _ = SavedQueueView.objects.update_or_create(
        user=user, name=name, defaults={"query": query}
    )
    return view


def delete_view(*, user, view_id: int) -> int:
    from .models import SavedQueueView

    deleted, _ = SavedQueueView.objects.filter(user=user, pk=view_id).delete()
    return deleted


# --- what other apps add to the rows ---------------------------------------------------------

# Callables `(tickets, *, view) -> None` run once per queue page on its tickets, setting
# attributes the rows read: `breach_risk` (a number: the "At risk" marker) and `row_extras`
# (safe HTML under the subject). Each must cost a constant number of queries.
row_decorators: list = []


def add_row_decorator(decorate) -> None:
    if decorate not in row_decorators:
        row_decorators.append(decorate)


def decorate_rows(tickets, *, view: str) -> None:
    for decorate in row_decorators:
        decorate(tickets, view=view)
