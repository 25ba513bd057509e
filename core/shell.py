"""The page shell as registries: areas, navigation, banners and ticket-page panels.

`core` draws the frame of every page (`templates/base.html`) but knows no app's pages. The apps
supply what goes in it, and `config/shell.py` wires them, so a higher app (incidents, bookings)
adds a menu entry, a banner or a panel to a support page without support importing it:

    shell.add_area("jobs", home="technician-jobs", layout="help/base.html", audience=is_technician)
    shell.add_nav("desk", "incidents", "Incidents", "incident-list", order=40,
                  visible=can_see_incidents)
    shell.add_banner("active-incident", incident_banner, areas=("desk", "help"))
    shell.add_ticket_panel("bookings", booking_panel, areas=("desk",))

A banner is a callable `(request) -> (template_name, context) | None`, a ticket panel
`(request, ticket) -> (template_name, context) | None`; both run once per rendered page, so they
must be cheap and cost the same number of queries whatever the data (one query, or a cached
value). `None` shows nothing. Adding under a key that is already there replaces the entry, so
wiring twice is harmless.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.http import Http404
from django.urls import reverse

Visible = Callable[..., bool]  # (user) -> bool
Url = str | Callable[..., str]  # a URL name, or (request) -> str
Rendered = tuple[str, dict] | None


def everyone(user) -> bool:
    return True


@dataclass(frozen=True)
class Area:
    """A family of pages with its own layout and home (the desk, the help center)."""

    name: str
    home: Url
    layout: str
    audience: Visible = everyone  # whose home this is (first match in `order` wins)
    order: int = 100


@dataclass(frozen=True)
class NavEntry:
    area: str
    key: str
    label: str
    url: Url
    order: int = 100
    visible: Visible = everyone


@dataclass(frozen=True)
class Banner:
    key: str
    render: Callable[..., Rendered]  # (request) -> (template, context) | None
    areas: frozenset[str] = frozenset({"desk", "help"})
    order: int = 100


@dataclass(frozen=True)
class TicketPanel:
    key: str
    render: Callable[..., Rendered]  # (request, ticket) -> (template, context) | None
    areas: frozenset[str] = frozenset({"desk"})
    order: int = 100


@dataclass(eq=False)
class Registry:
    """Entries by key, read in (order, key) order."""

    entries: dict = field(default_factory=dict)

    def add(self, key, entry) -> None:
        self.entries[key] = entry

    def remove(self, key) -> None:
        self.entries.pop(key, None)

    def __iter__(self):
        ordered = sorted(self.entries.items(), key=lambda item: (item[1].order, str(item[0])))
        return iter(entry for _, entry in ordered)


@dataclass(frozen=True)
class Shown:
    """What a template draws: a link, or a fragment with its template and context."""

    key: str
    label: str = ""
    url: str = ""
    template: str = ""
    context: dict = field(default_factory=dict)


areas = Registry()
nav = Registry()
banners = Registry()
ticket_panels = Registry()


def _areas(names: str | Iterable[str]) -> frozenset[str]:
    return frozenset([names] if isinstance(names, str) else names)


def add_area(
    name: str, *, home: Url, layout: str, audience: Visible = everyone, order: int = 100
) -> Area:
    area = Area(name=name, home=home, layout=layout, audience=audience, order=order)
    areas.add(name, area)
    return area


def add_nav(
    area: str, key: str, label: str, url: Url, *, order: int = 100, visible: Visible = everyone
) -> NavEntry:
    entry = NavEntry(area=area, key=key, label=label, url=url, order=order, visible=visible)
    nav.add((area, key), entry)
    return entry


def add_banner(key: str, render, *, areas=("desk", "help"), order: int = 100) -> Banner:
    banner = Banner(key=key, render=render, areas=_areas(areas), order=order)
    banners.add(key, banner)
    return banner


def add_ticket_panel(key: str, render, *, areas=("desk",), order: int = 100) -> TicketPanel:
    panel = TicketPanel(key=key, render=render, areas=_areas(areas), order=order)
    ticket_panels.add(key, panel)
    return panel


def _url(url: Url, request) -> str:
    return url(request) if callable(url) else reverse(url)


def _user(request):
    return getattr(request, "user", None)


# --- reading the registries (the template tags and `core.views.home` call these) ------------


def area_for(user) -> Area | None:
    """The viewer's own area: the first whose audience includes them."""
    return next((a for a in areas if a.audience(user)), None)


def home_url(request) -> str:
    """Where `/` sends this visitor (staff to the desk, everyone else to the help center)."""
    area = area_for(_user(request))
    if area is None:
        raise Http404("No page area is wired (config/shell.py).")
    return _url(area.home, request)


def area_home_url(request, name: str) -> str:
    area = areas.entries.get(name)
    return _url(area.home, request) if area else "/"


def layout_for(user, default: str = "base.html") -> str:
    area = area_for(user)
    return area.layout if area else default


def nav_for(request, area: str) -> list[Shown]:
    user = _user(request)
    return [
        Shown(key=entry.key, label=entry.label, url=_url(entry.url, request))
        for entry in nav
        if entry.area == area and entry.visible(user)
    ]


def _fragments(registry, area: str, *args) -> list[Shown]:
    shown = []
    for entry in registry:
        if area not in entry.areas:
            continue
        rendered = entry.render(*args)
        if rendered:
            template, context = rendered
            shown.append(Shown(key=entry.key, template=template, context=context or {}))
    return shown


def banners_for(request, area: str) -> list[Shown]:
    return _fragments(banners, area, request)


def ticket_panels_for(request, area: str, ticket) -> list[Shown]:
    return _fragments(ticket_panels, area, request, ticket)
