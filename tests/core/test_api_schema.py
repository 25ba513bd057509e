"""The served OpenAPI schema: valid, the same for everyone, complete, and its examples work."""

import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from bookings import services as booking_services
from bookings.models import Booking
from core.api.schema import ERRORS
from knowledge import services as knowledge_services
from knowledge.models import Article
from knowledge.models import Status as ArticleStatus
from support import services
from support.assist.models import AIInteraction
from support.chat import services as chat_services
from support.models import ChatSession
from support.models.choices import Status
from tests.api_world import build_world

SCHEMA_URL = "/api/v1/schema/"
OPENAPI_JSON = "application/vnd.oai.openapi+json"
RAW = SchemaGenerator().get_schema(request=None, public=True)
METHODS = {"get", "post", "put", "patch", "delete"}


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def fetch_schema(client) -> dict:
    response = client.get(SCHEMA_URL, HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi():
    validate(RAW)


@pytest.mark.django_db
def test_the_schema_is_the_same_whoever_fetches_it(customer, agent, lead):
    client = APIClient()
    anonymous = fetch_schema(client)
    for user in (customer, agent, lead):
        client.force_authenticate(user)
        assert fetch_schema(client) == anonymous, user


def test_every_operation_documents_its_errors_in_the_error_format():
    for method, path, operation in operations(RAW):
        responses = operation["responses"]
        for code in ("400", "401", "403", "429", "503"):
            assert code in responses, (method, path, code)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (method, path)
        for code, response in responses.items():
            if code in ERRORS and "$ref" not in response:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_idempotent_operations_document_the_key_format_and_its_errors():
    idempotent = [
        (method, path, operation)
        for method, path, operation in operations(RAW)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    assert {path for _, path, _ in idempotent} >= {
        "/api/v1/support/tickets/",
        "/api/v1/support/tickets/{id}/messages/",
    }
    for method, path, operation in idempotent:
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["schema"]["pattern"] == "^[!-~]{1,255}$"
        assert {"409", "422"} <= set(operation["responses"]), (method, path)


def test_response_objects_are_closed_and_complete():
    for name, schema in RAW["components"]["schemas"].items():
        if schema.get("type") != "object" or name.endswith("Request") or name == "Error":
            continue
        assert schema.get("additionalProperties") is False, name
        assert set(schema["required"]) == set(schema["properties"]), name


def test_path_patterns_group_their_alternatives():
    patterns = {
        p["schema"].get("pattern")
        for _, _, operation in operations(RAW)
        for p in operation.get("parameters", [])
        if p["in"] == "path"
    }
    for pattern in filter(None, patterns):
        inner = pattern.removeprefix("^").removesuffix("$")
        assert "|" not in inner or (inner.startswith("(?:") and inner.endswith(")")), pattern


def test_sub_resources_document_no_ticket_filters_and_are_paginated():
    for suffix in ("messages", "events", "attachments"):
        operation = RAW["paths"][f"/api/v1/support/tickets/{{id}}/{suffix}/"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert names == {"id", "page", "page_size"}, suffix
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["$ref"].startswith("#/components/schemas/Paginated"), suffix


# --- the schema's own request examples, sent -------------------------------------------------

# Who sends each example, and what state its ticket must be in first. An example not listed
# here is sent by a support lead to the lead's ticket, as it stands.
EXAMPLE_SENDERS = {
    ("post", "/api/v1/support/tickets/"): "customer",
    ("post", "/api/v1/support/tickets/{id}/rate/"): "customer",
    ("patch", "/api/v1/insurance/documents/{id}/"): "customer",
    ("post", "/api/v1/insurance/documents/{id}/approve/"): "reviewer",
    ("post", "/api/v1/insurance/documents/{id}/reject/"): "reviewer",
    ("post", "/api/v1/insurance/documents/{id}/request-info/"): "reviewer",
    ("post", "/api/v1/bookings/{id}/request-completion/"): "technician",
    ("post", "/api/v1/bookings/{id}/approve/"): "customer",
    ("post", "/api/v1/bookings/{id}/reject/"): "customer",
    ("post", "/api/v1/bookings/{id}/review/"): "customer",
    ("post", "/api/v1/webhooks/"): "admin",
    ("post", "/api/v1/chat/sessions/{id}/rate/"): "customer",
    ("patch", "/api/v1/webhooks/{id}/"): "admin",
}


def _article_numbered_as_in_the_examples(world, role):
    # The examples name "KB-00001"; numbers come from a sequence that other tests advance.
    Article.objects.filter(pk=world.article_id).update(number="KB-00001")


def _booking(world):
    return Booking.objects.get(pk=world.booking_id)


def _booking_rejected(world, role):
    booking_services.reject(booking=_booking(world), by=world.users["customer"], reason="Drips")


EXAMPLE_SETUP = {
    # The world's booking waits for the customer's answer; these examples need another state.
    ("post", "/api/v1/bookings/{id}/request-completion/"): _booking_rejected,
    ("post", "/api/v1/bookings/{id}/cancel/"): _booking_rejected,
    ("post", "/api/v1/bookings/{id}/review/"): lambda world, role: booking_services.approve(
        booking=_booking(world), by=world.users["customer"]
    ),
    ("post", "/api/v1/bookings/{id}/contact-attempts/"): lambda world, role: (
        booking_services.initiate_follow_up(booking=_booking(world), by=world.users["lead"])
    ),
    ("post", "/api/v1/incidents/{id}/articles/"): _article_numbered_as_in_the_examples,
    ("post", "/api/v1/incidents/{id}/articles/unlink/"): _article_numbered_as_in_the_examples,
    ("post", "/api/v1/support/tickets/{id}/rate/"): lambda world, role: services.change_status(
        ticket=world.tickets[role], to=Status.RESOLVED, by=world.users["lead"]
    ),
    # A chat is rated once it has ended.
    ("post", "/api/v1/chat/sessions/{id}/rate/"): lambda world, role: chat_services.end_session(
        session=ChatSession.objects.get(public_id=world.chat_sessions[role]), by=None
    ),
    # A draft to decide on: the lead's own (drafts come only from a hosted model).
    ("post", "/api/v1/ai/drafts/{id}/"): lambda world, role: setattr(
        world,
        "ai_draft_id",
        AIInteraction.objects.create(
            feature="reply_draft",
            provider="openai_compatible",
            user=world.users[role],
            ticket=world.tickets[role],
            outcome="success",
            draft_outcome="offered",
        ).pk,
    ),
    # "Send for review" starts from a draft.
    ("post", "/api/v1/knowledge/articles/{id}/status/"): lambda world, role: (
        knowledge_services.change_status(
            article=Article.objects.get(pk=world.article_id),
            by=world.users["lead"],
            to=ArticleStatus.DRAFT,
        )
    ),
}


def request_examples():
    for method, path, operation in operations(RAW):
        content = operation.get("requestBody", {}).get("content", {})
        examples = content.get("application/json", {}).get("examples", {})
        for name, example in examples.items():
            yield pytest.param(method, path, example["value"], id=f"{method} {path} {name}")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), list(request_examples()))
def test_every_request_example_in_the_schema_succeeds(method, path, body):
    world = build_world()
    role = EXAMPLE_SENDERS.get((method, path), "lead")
    if setup := EXAMPLE_SETUP.get((method, path)):
        setup(world, role)
    url = re.sub(r"\{(\w+)\}", lambda m: str(world.path_value(role, path, m.group(1))), path)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    response = getattr(client, method)(url, body, format="json")
    assert 200 <= response.status_code < 300, response.content
