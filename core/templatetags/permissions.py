"""`{% can "support.escalate" ticket as may_escalate %}`: a declared action's predicate, in a page.

The user is the request's; any further arguments are the predicate's objects.
"""

from django import template

from core.permissions import allowed

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, action_name, *objects):
    return allowed(action_name, context.get("user"), *objects)
