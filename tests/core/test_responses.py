"""Response headers every page and API answer carries: caching, CSP, referrer and framing."""

import pytest

from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db

# Pages of every area, signed in as who may see them.
STAFF_PAGES = ["/desk/", "/notifications/", "/account/preferences/", "/admin/", "/api/v1/docs/"]
CUSTOMER_PAGES = ["/help/", "/help/tickets/new/", "/notifications/", "/account/preferences/"]
ANONYMOUS_PAGES = ["/accounts/login/", "/help/", "/accounts/password-reset/", "/no-such-page/"]


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = [part.strip().split() for part in policy.split(";") if part.strip()]
    return {name: values for name, *values in parts}


def _is_private(response) -> bool:
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= cache_control and "public" not in cache_control


def assert_policy_is_strict(response, *, inline_styles=False):
    directives = _directives(response)
    assert directives["script-src"] == ["'self'"], directives
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    styles = ["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"]
    assert directives["style-src"] == styles
    for name, sources in directives.items():
        for source in sources:
            # Nothing but this site (and data: images): no host, scheme or wildcard source.
            assert source in {"'self'", "'none'", "'unsafe-inline'", "data:"}, (name, source)
            assert not (name == "script-src" and source == "'unsafe-inline'")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_authenticated_pages_are_private_and_strictly_policed(client, agent, customer):
    ticket = make_ticket(by=customer, subject="Headers")
    agent.is_staff = agent.is_superuser = True
    agent.save()
    client.force_login(agent)
    for path in [*STAFF_PAGES, f"/desk/tickets/{ticket.number}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert _is_private(response), (path, response.get("Cache-Control"))
        assert_policy_is_strict(response, inline_styles=path == "/api/v1/docs/")

    client.force_login(customer)
    for path in [*CUSTOMER_PAGES, f"/help/tickets/{ticket.number}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert _is_private(response), path
        assert_policy_is_strict(response)


def test_anonymous_pages_carry_the_policy_too(client):
    for path in ANONYMOUS_PAGES:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_policy_is_strict(response)


def test_api_answers_are_private_whoever_asks(api_client, customer):
    assert _is_private(api_client.get("/api/v1/support/tickets/"))  # anonymous: 401/403
    assert _is_private(api_client.get("/api/v1/nothing-here/"))
    api_client.force_authenticate(customer)
    response = api_client.get("/api/v1/support/tickets/")
    assert response.status_code == 200
    assert _is_private(response)


def test_token_authenticated_api_answers_are_private(api_client, customer):
    from core.api.authentication import create_token

    _, key = create_token(user=customer, name="headers")
    response = api_client.get("/api/v1/support/tickets/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert _is_private(response)


def test_a_view_cannot_make_a_signed_in_answer_public():
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils.cache import patch_cache_control

    from core.middleware import PrivateResponseMiddleware

    def public_view(request):
        response = HttpResponse("x")
        patch_cache_control(response, public=True, max_age=3600)
        return response

    request = RequestFactory().get("/help/", HTTP_COOKIE="sessionid=abc")
    assert _is_private(PrivateResponseMiddleware(public_view)(request))
    anonymous = RequestFactory().get("/help/")
    assert not _is_private(PrivateResponseMiddleware(public_view)(anonymous))


def test_anonymous_static_and_health_keep_their_own_caching(client):
    # Not private: nothing personal in them. (Health checks say no-cache themselves.)
    assert "private, no-store" not in client.get("/static/css/app.css").get("Cache-Control", "")
    assert client.get("/healthz").status_code == 200


def test_no_page_template_has_inline_script_style_or_handlers():
    import re
    from pathlib import Path

    from django.conf import settings

    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=|<style\b|javascript:|hx-on", re.I
    )
    roots = [Path(settings.BASE_DIR) / "templates"]
    roots += [Path(settings.BASE_DIR) / app / "templates" for app in ("core", "support")]
    offenders = []
    for root in roots:
        for template in root.rglob("*.html"):
            if "/email/" in str(template) or template.name.endswith("_email.html"):
                continue  # e-mails are not pages: mail clients need inline styles
            for number, line in enumerate(template.read_text().splitlines(), 1):
                if inline.search(line):
                    offenders.append(f"{template}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_docs_script_comes_from_this_site(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "<script>" not in page
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
