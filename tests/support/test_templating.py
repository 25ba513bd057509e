"""Response templates: who may edit them, which placeholders exist, and that nothing evaluates."""

import pytest

from core.errors import DomainError
from core.roles import Role
from support import templating
from support.models import ResponseTemplate, TicketMessage
from tests.factories import UserFactory

from .factories import ResponseTemplateFactory, make_ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/support/templates/"


def _customer_named(name):
    return UserFactory(roles=[Role.CUSTOMER], full_name=name)


# --- rights ----------------------------------------------------------------------------------


def test_lead_crud(api_client, lead):
    api_client.force_authenticate(lead)
    created = api_client.post(
        URL,
        {"name": "Thanks", "channel": "email", "subject": "Re {{ ticket.number }}", "body": "Hi"},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert ResponseTemplate.objects.get(pk=pk).created_by == lead
    assert api_client.get(f"{URL}{pk}/").json()["name"] == "Thanks"
    patched = api_client.patch(f"{URL}{pk}/", {"body": "Hello {{ customer.name }}"}, format="json")
    assert patched.status_code == 200, patched.content
    assert ResponseTemplate.objects.get(pk=pk).body == "Hello {{ customer.name }}"
    assert [t["id"] for t in api_client.get(URL).json()["results"]] == [pk]
    assert api_client.delete(f"{URL}{pk}/").status_code == 204
    assert not ResponseTemplate.objects.filter(pk=pk).exists()


def test_agent_lists_and_renders_but_cannot_edit(api_client, agent, customer):
    template = ResponseTemplateFactory()
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(agent)
    assert api_client.get(URL).status_code == 200
    assert api_client.get(f"{URL}{template.pk}/").status_code == 200
    rendered = api_client.post(f"{URL}{template.pk}/render/", {"ticket": ticket.number})
    assert rendered.status_code == 200, rendered.content
    assert rendered.json()["subject"] == f"About {ticket.number}"
    assert rendered.json()["body"] == f"Hello {customer.full_name}, this is Avery Agent."
    create = api_client.post(URL, {"name": "x", "channel": "email", "body": "b"}, format="json")
    assert create.status_code == 403
    assert create.json()["code"] == "permission_denied"
    assert api_client.patch(f"{URL}{template.pk}/", {"body": "b"}).status_code == 403
    assert api_client.delete(f"{URL}{template.pk}/").status_code == 403
    assert ResponseTemplate.objects.count() == 1


def test_customers_cannot_see_templates(api_client, customer):
    template = ResponseTemplateFactory()
    api_client.force_authenticate(customer)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(f"{URL}{template.pk}/").status_code == 403


def test_render_is_scoped_to_visible_tickets(api_client, agent, lead, customer):
    from .factories import TeamFactory

    template = ResponseTemplateFactory()
    hidden = make_ticket(by=lead, customer=customer, team=TeamFactory())
    api_client.force_authenticate(agent)
    response = api_client.post(f"{URL}{template.pk}/render/", {"ticket": str(hidden.pk)})
    assert response.status_code == 404


# --- placeholders ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ customer.password }}",
        "{{ ticket.__class__ }}",
        "{{ ticket.__class__.__mro__ }}",
        "{{ ticket.number|upper }}",
        "{{ Ticket.Number }}",
        "{{ settings }}",
        "{{ user.email }}",
    ],
)
def test_unknown_placeholders_are_refused_at_save(api_client, lead, text):
    api_client.force_authenticate(lead)
    response = api_client.post(
        URL, {"name": "Bad", "channel": "email", "body": text}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "body" in response.json()["errors"]
    subject = api_client.post(
        URL, {"name": "Bad2", "channel": "email", "subject": text, "body": "ok"}, format="json"
    )
    assert subject.status_code == 400
    assert "subject" in subject.json()["errors"]
    assert not ResponseTemplate.objects.exists()


def test_validate_template_text_lists_the_unknown():
    with pytest.raises(DomainError) as info:
        templating.validate_template_text("{{ ticket.number }} {{ ticket.secret }}")
    assert info.value.code == "unknown_placeholder"
    assert "ticket.secret" in info.value.message
    templating.validate_template_text("{{ticket.number}} {{  agent.name  }}")


@pytest.mark.parametrize(
    "name",
    [
        "{{ agent.email }}",
        "{% debug %}",
        "{{ ticket.__class__ }}",
        "{{ settings.SECRET_KEY }}",
        "{{ customer.name }}",
    ],
)
def test_values_are_substituted_once_and_stay_literal(api_client, agent, name):
    customer = _customer_named(name)
    ticket = make_ticket(by=customer)
    template = ResponseTemplateFactory(body="Dear {{ customer.name }}, from {{ agent.name }}")
    context = templating.context_for(ticket=ticket, agent=agent)
    assert templating.render(template.body, context) == f"Dear {name}, from Avery Agent"
    api_client.force_authenticate(agent)
    response = api_client.post(f"{URL}{template.pk}/render/", {"ticket": ticket.number})
    assert response.json()["body"] == f"Dear {name}, from Avery Agent"
    assert agent.email not in response.json()["body"]


def test_template_text_is_not_run_through_an_engine(customer, agent):
    ticket = make_ticket(by=customer)
    context = templating.context_for(ticket=ticket, agent=agent)
    text = "{% debug %}{{ ticket.number|upper }}{{ Ticket.Number }}{{ ticket.number }}"
    rendered = templating.render(text, context)
    assert rendered == ("{% debug %}{{ ticket.number|upper }}{{ Ticket.Number }}" + ticket.number)


def test_posting_with_a_template_renders_and_escapes(api_client, agent):
    customer = _customer_named("<script>alert(1)</script><b>Bob</b>")
    ticket = make_ticket(by=customer)
    template = ResponseTemplateFactory(body="Hi {{ customer.name }},\n\nTicket {{ ticket.number }}")
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/", {"template": template.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    message = TicketMessage.objects.get(pk=response.json()["id"])
    assert "<script" not in message.body_html
    assert "<b>" not in message.body_html
    assert ticket.number in message.body_html
    assert "&lt;script&gt;" in message.body_html or "alert(1)" not in message.body_html
    assert message.sender_type == "agent" and not message.is_internal


def test_customer_cannot_post_with_a_template(api_client, customer):
    ticket = make_ticket(by=customer)
    template = ResponseTemplateFactory()
    api_client.force_authenticate(customer)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/", {"template": template.pk}, format="json"
    )
    assert response.status_code == 403


def test_inactive_template_cannot_be_used(api_client, agent, customer):
    ticket = make_ticket(by=customer)
    template = ResponseTemplateFactory(is_active=False)
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/", {"template": template.pk}, format="json"
    )
    assert response.status_code == 400
    assert "template" in response.json()["errors"]
