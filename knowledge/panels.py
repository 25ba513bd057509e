"""Panels on the desk's article page that a higher app fills (the tickets an article served).

`knowledge` imports no app above it, so support's data reaches the article page the way the
page shell's ticket panels reach the ticket page (`core.shell`): support provides a callable
`(request, article) -> (template_name, context) | None` and `config/shell.py` registers it:

    panels.add_article_panel("tickets", support_views.article_tickets_panel)

A panel runs once per page with a constant number of queries; `None` shows nothing. Adding
under a key that is already there replaces the entry, so wiring twice is harmless.
"""

from dataclasses import dataclass

from core.shell import Registry, Shown


@dataclass(frozen=True)
class ArticlePanel:
    key: str
    render: object  # (request, article) -> (template, context) | None
    order: int = 100


article_panels = Registry()


def add_article_panel(key: str, render, *, order: int = 100) -> ArticlePanel:
    panel = ArticlePanel(key=key, render=render, order=order)
    article_panels.add(key, panel)
    return panel


def article_panels_for(request, article) -> list[Shown]:
    shown = []
    for panel in article_panels:
        rendered = panel.render(request, article)
        if rendered:
            template, context = rendered
            shown.append(Shown(key=panel.key, template=template, context=context or {}))
    return shown
