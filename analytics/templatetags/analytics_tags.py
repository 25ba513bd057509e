"""How the dashboard writes a figure: counts as they are, times in minutes or hours, shares as
percentages."""

from django import template

register = template.Library()


def _minutes(value: float) -> str:
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} d"


@register.filter
def figure(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{value * 100:.0f}%"
    if kind == "minutes":
        return _minutes(value)
    if kind == "score":
        return f"{value:.0f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


@register.filter
def change(value, kind: str) -> str:
    """The change against the previous period, signed (shares in percentage points)."""
    if value is None:
        return ""
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    size = abs(value)
    if kind == "share":
        return f"{sign}{size * 100:.0f} pts"
    if kind == "minutes":
        return f"{sign}{_minutes(size)}"
    return f"{sign}{size:g}"
