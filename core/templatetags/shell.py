"""Template tags that draw the page shell from `core.shell`'s registries.

{% load shell %}
<a href="{% shell_home_url "desk" %}">…</a>
{% shell_nav "desk" %}                 the area's menu entries, as <li> items
{% shell_banners "desk" %}             the banners that apply to this request
{% shell_ticket_panels "desk" ticket %}
"""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from core import shell

register = template.Library()


@register.simple_tag(takes_context=True)
def shell_home_url(context, area):
    return shell.area_home_url(context.get("request"), area)


@register.simple_tag(takes_context=True)
def shell_nav(context, area):
    entries = shell.nav_for(context.get("request"), area)
    return format_html_join(
        "\n", '<li><a href="{}">{}</a></li>', ((e.url, e.label) for e in entries)
    )


def _render_all(context, fragments) -> str:
    """Each fragment with the page's context plus its own, as `{% include %}` would."""
    engine = context.template.engine
    parts = []
    for fragment in fragments:
        with context.push(**fragment.context):
            parts.append(engine.get_template(fragment.template).render(context))
    # Each part is a rendered template, which escaped what it had to.
    return mark_safe("".join(parts))


@register.simple_tag(takes_context=True)
def shell_banners(context, area):
    return _render_all(context, shell.banners_for(context.get("request"), area))


@register.simple_tag(takes_context=True)
def shell_ticket_panels(context, area, ticket):
    return _render_all(context, shell.ticket_panels_for(context.get("request"), area, ticket))
