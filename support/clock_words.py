"""SLA clocks in words, the same everywhere on the desk: one state per clock, stated once.

A clock is exactly one of: not set, met, breached (stopped late, or still running past its
due time), paused, stopped (the ticket ended before the clock did: cancelled or closed
unanswered; nothing is measured), or running with the time left. Time left and overdue are
working time up to a day ("in 2 h 10 min", "45 min overdue"), then days of the calendar to or
from the due time ("in 3 d", "3 d overdue"): a working-time day means nothing to a reader.
"""

from dataclasses import dataclass
from datetime import datetime

from .models import Ticket
from .models.choices import FINAL_STATUSES, Status
from .sla import ClockReading, read_clocks

DAY_MINUTES = 24 * 60


def duration_words(minutes: float) -> str:
    minutes = max(0, round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _days(delta_seconds: float) -> int:
    return max(1, round(delta_seconds / 86400))


@dataclass(frozen=True)
class ClockWords:
    label: str  # "First response" / "Resolution"
    state: str  # none, met, breached, paused, stopped, running, at_risk
    words: str  # "met", "in 2 h 10 min", "3 d overdue", "paused", …
    due_at: datetime | None

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "at_risk")


def describe(
    reading: ClockReading,
    *,
    label: str,
    ticket: Ticket,
    now: datetime,
    paused: bool,
    ended: bool,
) -> ClockWords:
    """`ended`: the ticket is past the point where this clock could still stop."""
    if reading.target_minutes is None or reading.due_at is None:
        return ClockWords(label, "none", "no target", None)
    due = reading.due_at
    if reading.stopped_at is not None:
        late = reading.breached or reading.stopped_at > due
        if late:
            overdue = (reading.stopped_at - due).total_seconds()
            late_by = duration_words(overdue / 60) if overdue < 86400 else f"{_days(overdue)} d"
            return ClockWords(label, "breached", f"breached (late by {late_by})", due)
        return ClockWords(label, "met", "met", due)
    if ended:
        # Ended before this clock stopped: nothing runs on a finished ticket. It was breached
        # only if it ran out before the ticket ended.
        ended_at = ticket.closed_at or ticket.resolved_at or now
        if reading.breached_at is not None or due <= ended_at:
            return ClockWords(label, "breached", "breached before the ticket ended", due)
        status = ticket.get_status_display().lower()
        return ClockWords(label, "stopped", f"not measured: {status}", due)
    if paused:
        return ClockWords(label, "paused", "paused: waiting on the customer", due)
    remaining = reading.remaining_minutes or 0
    if reading.breached or due <= now:
        overdue_seconds = (now - due).total_seconds()
        if -remaining < DAY_MINUTES and remaining < 0:
            return ClockWords(label, "breached", f"{duration_words(-remaining)} overdue", due)
        return ClockWords(label, "breached", f"{_days(overdue_seconds)} d overdue", due)
    state = "at_risk" if reading.warned else "running"
    if remaining < DAY_MINUTES:
        return ClockWords(label, state, f"in {duration_words(remaining)}", due)
    return ClockWords(label, state, f"in {_days((due - now).total_seconds())} d", due)


def ticket_clocks(ticket: Ticket, *, now: datetime) -> list[ClockWords]:
    """Both clocks of `ticket` in words (first response, resolution)."""
    readings = read_clocks(ticket, now=now)
    resolution_paused = ticket.sla_paused_at is not None and ticket.resolved_at is None
    # As `sla.sla_state` reads them: the response clock runs until the first public reply and
    # stops with resolution; the resolution clock pauses while waiting on the customer.
    response = describe(
        readings["first_response"],
        label="First response",
        ticket=ticket,
        now=now,
        paused=False,
        ended=ticket.status in FINAL_STATUSES or ticket.status == Status.RESOLVED,
    )
    resolution = describe(
        readings["resolution"],
        label="Resolution",
        ticket=ticket,
        now=now,
        paused=resolution_paused,
        ended=ticket.status in FINAL_STATUSES,
    )
    return [response, resolution]


def next_due(clocks: list[ClockWords]) -> ClockWords | None:
    """The clock a badge should show: a breached one, else the running one due first."""
    breached = [c for c in clocks if c.state == "breached"]
    if breached:
        return breached[0]
    running = sorted((c for c in clocks if c.is_running), key=lambda c: c.due_at)
    return running[0] if running else None
