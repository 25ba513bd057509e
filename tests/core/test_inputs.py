"""The boundary's parsers (core.inputs, core.api.parsers, core.api.pagination) and their 400s.

Each class of input that once reached the database and came back as a 500 has its own test
here: time-zone offsets PostgreSQL refuses, digits that are not ASCII, NUL characters.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from core.inputs import MAX_ID, as_utc, parse_count, parse_id
from support.models import Ticket
from support.services import create_ticket
from tests.support.factories import CategoryFactory

TICKETS = "/api/v1/support/tickets/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7),
        ("0007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),  # beyond a 64-bit column
        ("0", None),
        ("-3", None),
        ("¹", None),  # "¹".isdigit() is true; int("¹") raises
        ("١٢", None),  # Arabic-Indic digits: int() reads 12; an id is ASCII
        ("7 ", None),
        ("", None),
        ("1e3", None),
        (7, None),  # only text is parsed
    ],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


def test_parse_count_bounds():
    assert parse_count("0") == 0
    assert parse_count("0", minimum=1) is None
    assert parse_count("101", maximum=100) is None
    assert parse_count("²") is None


def test_as_utc_moves_any_offset_to_utc_and_refuses_leaving_the_calendar():
    sixteen = timezone(timedelta(hours=16))
    assert as_utc(datetime(2026, 1, 1, tzinfo=sixteen)) == datetime(2025, 12, 31, 8, tzinfo=UTC)
    with pytest.raises(ValidationError):
        as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


# --- through the API --------------------------------------------------------------------------


@pytest.fixture
def signed_in(api_client, lead):
    api_client.force_authenticate(lead)
    return api_client


@pytest.fixture
def ticket(db, customer):
    return create_ticket(by=customer, subject="Printer on fire")


def assert_400(response, code=None):
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    if code:
        assert body["code"] == code
    return body


def test_an_offset_postgresql_refuses_is_moved_to_utc(signed_in, ticket):
    # +16:00 is beyond PostgreSQL's ±15:59; it reached the database as such and failed.
    response = signed_in.get(TICKETS, {"created_after": "2026-01-01T00:00:00+16:00"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]
    later = signed_in.get(TICKETS, {"created_after": "2999-01-01T00:00:00-15:59"})
    assert later.json()["results"] == []


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_that_leaves_the_calendar_in_utc_is_a_400(signed_in, value):
    body = assert_400(signed_in.get(TICKETS, {"created_before": value}))
    assert "created_before" in body["errors"]


@pytest.mark.parametrize("path", ["¹/", "١٢/", "¹/sla/", "¹/messages/", "99999999999999999999/"])
def test_unicode_digits_and_huge_ids_in_a_ticket_path_are_not_found(signed_in, ticket, path):
    response = signed_in.get(TICKETS + path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("team", "¹"),
        ("customer", "١٢"),
        ("organization", "1.5"),
        ("team", str(MAX_ID + 1)),
        ("assigned_to", "²"),
        ("assigned_to", "someone"),
    ],
)
def test_a_filter_id_that_is_not_ascii_digits_is_a_400_naming_it(signed_in, name, value):
    body = assert_400(signed_in.get(TICKETS, {name: value}))
    assert name in body["errors"]


def test_assigned_to_takes_me_none_or_an_id(signed_in, ticket, lead):
    assert signed_in.get(TICKETS, {"assigned_to": "none"}).json()["results"][0]["id"] == ticket.pk
    assert signed_in.get(TICKETS, {"assigned_to": "me"}).json()["results"] == []
    assert signed_in.get(TICKETS, {"assigned_to": str(lead.pk)}).json()["results"] == []


@pytest.mark.parametrize(
    "url",
    [
        TICKETS + "%00/",
        TICKETS + "1/%00/",
        "/api/v1/support/categories/a%00b/",
        TICKETS + "?q=%00",
        TICKETS + "?tag=x%00",
        TICKETS + "?%00=1",
    ],
)
def test_a_nul_in_a_path_or_query_is_a_400(signed_in, ticket, url):
    assert_400(signed_in.get(url), code="malformed_request")


def test_a_nul_in_a_page_query_is_the_400_page(client, lead):
    client.force_login(lead)
    response = client.get("/desk/?q=%00")
    assert response.status_code == 400
    assert "400.html" in [t.name for t in response.templates]


@pytest.mark.parametrize(
    "raw_json",
    [
        r'{"subject": "a\u0000b"}',
        r'{"subject": "ok", "category": "tech\u0000nical"}',  # a slug lookup
        r'{"subject": "ok", "tags": ["a\u0000"]}',
        r'{"subject": "\ud800 half a surrogate pair"}',
        r'{"subject": "ok", "\u0000": 1}',  # even a key
    ],
)
def test_text_a_database_cannot_store_is_a_400_and_creates_nothing(signed_in, raw_json):
    CategoryFactory(slug="technical")
    before = Ticket.objects.count()
    assert_400(signed_in.post(TICKETS, raw_json, content_type="application/json"))
    assert Ticket.objects.count() == before


def test_a_nul_in_a_form_field_is_a_400(signed_in, ticket):
    response = signed_in.post(f"{TICKETS}{ticket.pk}/messages/", {"body": "x\x00y"})
    assert_400(response)
    assert ticket.messages.count() == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=²", "page"),
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
    ],
)
@pytest.mark.parametrize("path", [TICKETS, "/api/v1/support/categories/"])
def test_a_page_or_size_that_is_not_a_number_in_range_is_a_400(signed_in, path, query, field):
    body = assert_400(signed_in.get(f"{path}?{query}"))
    assert field in body["errors"]


def test_a_page_past_the_end_is_empty_for_tickets_and_404_for_counted_lists(signed_in, ticket):
    assert signed_in.get(TICKETS, {"page": "99"}).json()["results"] == []
    assert signed_in.get("/api/v1/support/categories/", {"page": "99"}).status_code == 404


def test_an_unknown_ordering_is_a_400_and_a_known_one_sorts(signed_in, customer):
    first = create_ticket(by=customer, subject="First")
    second = create_ticket(by=customer, subject="Second")
    assert_400(signed_in.get(TICKETS, {"ordering": "subject"}))
    ids = [
        row["id"] for row in signed_in.get(TICKETS, {"ordering": "created_at"}).json()["results"]
    ]
    assert ids == [first.pk, second.pk]


def test_a_number_sent_for_text_is_refused_not_stringified(signed_in):
    body = assert_400(signed_in.post(TICKETS, {"subject": 42}, format="json"))
    assert body["errors"] == {"subject": ["Must be a string."]}


def test_a_token_that_would_already_have_expired_is_refused(client, lead):
    client.force_login(lead)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = client.post(
        "/api/v1/auth/tokens/",
        {"name": "script", "expires_at": past, "password": "pw-for-tests-1"},
        content_type="application/json",
    )
    body = assert_400(response)
    assert "expires_at" in body["errors"]


def test_an_sla_target_beyond_a_year_is_a_400_not_an_overflow(signed_in, ticket):
    # 2**62 minutes once overflowed the calendar arithmetic (a 500).
    response = signed_in.patch(
        f"{TICKETS}{ticket.number}/sla/",
        {"resolution_minutes": 2**62, "reason": "typo"},
        format="json",
    )
    body = assert_400(response)
    assert "resolution_minutes" in body["errors"]
