from django import template
from django.utils import timezone

from ..sla import sla_state as compute_sla_state

register = template.Library()


@register.filter
def sla_state(ticket) -> str:
    return compute_sla_state(ticket, now=timezone.now())


@register.filter
def humanize_state(value: str) -> str:
    return value.replace("_", " ").capitalize()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)


@register.filter
def upto(value: str, delimiter: str) -> str:
    """The text before `delimiter`: "2 days, 3 hours"|upto:"," is "2 days"."""
    return str(value).split(delimiter, 1)[0]


@register.simple_tag(takes_context=False)
def queue_rows(tickets, selected):
    """The queue table's rows (support.queue_rows): the template engine was their cost."""
    from ..queue_rows import rows

    return rows(tickets, selected=selected)
