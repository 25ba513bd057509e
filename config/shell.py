"""What each app puts in the page shell (`core.shell`), wired in one place.

Imported by `config/urls.py`, so the registries are filled before any page is drawn. An app
higher up (incidents, bookings) adds its entries here, next to support's; support never
imports it, and `core` names no app's pages.
"""

from analytics.permissions import can_see_analytics
from bookings.permissions import can_manage as can_manage_bookings
from bookings.permissions import can_respond as can_book
from bookings.permissions import can_work as can_work_bookings
from bookings.views import ticket_booking_panel
from core import shell
from core.permissions import can_manage_own_tokens, can_see_admin, can_see_api_docs
from core.webhooks.permissions import can_manage_webhooks
from incidents import views as incident_views
from incidents.permissions import can_see_incidents
from insurance.permissions import can_review as can_review_insurance
from insurance.permissions import can_submit as can_submit_insurance
from knowledge import panels as knowledge_panels
from knowledge import views as knowledge_views
from knowledge.permissions import can_write as can_write_articles
from privacy.permissions import can_manage as can_manage_privacy
from support import queue
from support import views as support_views
from support.assist import breach as assist_breach
from support.assist import views as assist_views
from support.assist.permissions import can_see_usage as can_see_ai_usage
from support.chat import views as chat_views
from support.permissions import can_edit_rules, can_use_desk


def wire_core() -> None:
    shell.add_nav("desk", "admin", "Admin", "admin:index", order=900, visible=can_see_admin)
    shell.add_nav("desk", "api", "API", "api-docs", order=910, visible=can_see_api_docs)
    shell.add_nav(
        "desk", "webhooks", "Webhooks", "desk-webhooks", order=890, visible=can_manage_webhooks
    )


def _signed_in(user) -> bool:
    return user.is_authenticated


def wire_support() -> None:
    # Staff land on the desk, everyone else on the help center.
    shell.add_area(
        "desk", home="desk-home", layout="desk/base.html", audience=can_use_desk, order=10
    )
    shell.add_area("help", home="help-home", layout="help/base.html", order=100)
    shell.add_nav("desk", "home", "Home", "desk-home", order=0)
    shell.add_nav("desk", "dashboard", "Dashboard", "desk-dashboard", order=5)
    shell.add_nav("desk", "chats", "Chats", "chat:console", order=8)
    # The chat widget on every help-center page (CHAT_HELP_CENTER_WIDGET names it).
    shell.add_banner("chat-widget", chat_views.help_center_widget, areas=("help",))
    shell.add_nav("desk", "rules", "Rules", "desk-rules", order=60, visible=can_edit_rules)
    shell.add_nav("help", "home", "Home", "help-home", order=0)
    shell.add_nav("help", "desk", "Desk", "desk-home", order=800, visible=can_use_desk)
    shell.add_nav("help", "requests", "My requests", "help-requests", order=10, visible=_signed_in)
    shell.add_nav("help", "contact", "Contact us", "help-new-ticket", order=30)


def wire_knowledge() -> None:
    shell.add_nav("help", "knowledge", "Knowledge", "kb-home", order=20)
    shell.add_nav("desk", "knowledge", "Knowledge", "kb-desk", order=20, visible=can_write_articles)
    # Articles on the ticket's subject, to read or send, beside the ticket (staff only).
    shell.add_ticket_panel("knowledge", knowledge_views.suggested_articles_panel, areas=("desk",))
    # The articles a ticket was answered with (support's rows), under the suggestions...
    shell.add_ticket_panel(
        "knowledge-links", support_views.ticket_articles_panel, areas=("desk",), order=110
    )
    # ...and, on the desk's article page, the tickets it served (knowledge cannot see them).
    knowledge_panels.add_article_panel("tickets", support_views.article_tickets_panel)


def wire_insurance() -> None:
    # Reviewers work the queue on the desk; reviewers are no support staff, so the help center
    # (where they land) links to it too. Owners send and follow their documents there.
    shell.add_nav("desk", "insurance", "Insurance", "insurance-desk", order=40,
                  visible=can_review_insurance)  # fmt: skip
    shell.add_nav("help", "insurance-review", "Insurance review", "insurance-desk", order=790,
                  visible=can_review_insurance)  # fmt: skip
    shell.add_nav("help", "insurance", "My insurance", "insurance-help", order=15,
                  visible=can_submit_insurance)  # fmt: skip


def wire_incidents() -> None:
    shell.add_nav("help", "status", "Status", "status-page", order=40)
    shell.add_nav("desk", "incidents", "Incidents", "desk-incidents", order=30,
                  visible=can_see_incidents)  # fmt: skip
    # Customers see a known incident before they write to us about it.
    shell.add_banner("active-incident", incident_views.incident_banner, areas=("help",))


def wire_analytics() -> None:
    shell.add_nav("desk", "analytics", "Analytics", "desk-analytics", order=8,
                  visible=can_see_analytics)  # fmt: skip


def wire_bookings() -> None:
    # Customers answer for their bookings, technicians ask for their jobs' completion (both in
    # the help center), support follows up the silent ones on the desk.
    shell.add_nav("help", "bookings", "My bookings", "bookings-help", order=12, visible=can_book)
    shell.add_nav("help", "jobs", "My jobs", "bookings-jobs", order=11, visible=can_work_bookings)
    shell.add_nav("desk", "bookings", "Bookings", "bookings-desk", order=35,
                  visible=can_manage_bookings)  # fmt: skip
    # The booking a rejection or follow-up ticket is about, beside the ticket.
    shell.add_ticket_panel("bookings", ticket_booking_panel, areas=("desk", "help"), order=50)


def wire_privacy() -> None:
    shell.add_nav("desk", "privacy", "Privacy", "privacy:desk", order=880,
                  visible=can_manage_privacy)  # fmt: skip


def wire_assist() -> None:
    shell.add_nav("desk", "ai", "AI", "assist-usage", order=9, visible=can_see_ai_usage)
    # Category, team and priority suggestions from models that passed their evaluation.
    shell.add_ticket_panel("assist", assist_views.suggestions_panel, areas=("desk",), order=40)
    queue.add_row_decorator(assist_breach.attach_risks)  # the queue's breach-risk marker
    queue.add_row_decorator(assist_views.queue_triage)  # suggestions in the unassigned view


def wire() -> None:
    wire_privacy()
    wire_core()
    wire_support()
    wire_knowledge()
    wire_insurance()
    wire_incidents()
    wire_analytics()
    wire_bookings()
    wire_assist()


wire()


def wire_account() -> None:
    # Each person's own API tokens page (core), in the menu of both areas.
    for area in ("desk", "help"):
        shell.add_nav(
            area, "api-tokens", "API tokens", "api-tokens", order=850, visible=can_manage_own_tokens
        )


wire_account()
