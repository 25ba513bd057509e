"""The hosted adapters against a real HTTP server on loopback (pytest-httpserver) serving the
providers' documented response shapes, and the gateway's log and fallback on each path."""

import json
import threading

import pytest
from werkzeug import Response

from support.assist import gateway
from support.assist.models import AIInteraction, DailyTokenUsage, Outcome
from support.assist.providers import CompletionRequest, ProviderMalformed, ProviderTimeout, ToolSpec
from support.assist.providers.anthropic import AnthropicProvider
from support.assist.providers.base import ProviderError
from support.assist.providers.local import LocalProvider
from support.assist.providers.openai_compatible import OpenAICompatibleProvider

OPENAI_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-test-2026",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Reset it from the login page [KB-00001]."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
}
OPENAI_TOOL = {
    "id": "chatcmpl-2",
    "model": "gpt-test-2026",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "ticket_status",
                            "arguments": '{"number": "TKT-20261201-0001"}',
                        },
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 80, "completion_tokens": 9},
}
ANTHROPIC_OK = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [{"type": "text", "text": "Use the reset link."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 50, "output_tokens": 6},
}
ANTHROPIC_TOOL = {
    "id": "msg_2",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [
        {"type": "text", "text": "Let me look."},
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "booking_lookup",
            "input": {"number": "BK-1"},
        },
    ],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 60, "output_tokens": 20},
}


def _request(**kwargs):
    kwargs.setdefault("feature", "query")
    kwargs.setdefault("system", "You answer support questions.")
    kwargs.setdefault("messages", [{"role": "user", "content": "How do I reset my password?"}])
    return CompletionRequest(**kwargs)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def _openai(httpserver, sleeps=None, **kwargs):
    return OpenAICompatibleProvider(
        base_url=httpserver.url_for("/v1"),
        api_key="sk-test",
        model="gpt-test",
        sleep=Sleeps() if sleeps is None else sleeps,
        **kwargs,
    )


def _anthropic(httpserver, sleeps=None):
    return AnthropicProvider(
        base_url=httpserver.url_for(""),
        api_key="key",
        model="claude-test",
        sleep=Sleeps() if sleeps is None else sleeps,
    )


# --- the adapters ------------------------------------------------------------------------


def test_openai_success_sends_the_documented_request(httpserver):
    httpserver.expect_request(
        "/v1/chat/completions", method="POST", headers={"Authorization": "Bearer sk-test"}
    ).respond_with_json(OPENAI_OK)
    tool = ToolSpec("ticket_status", "Status of a ticket", {"type": "object"})
    result = _openai(httpserver).complete(_request(tools=[tool]), timeout_s=5)
    assert result.text == "Reset it from the login page [KB-00001]."
    assert (result.input_tokens, result.output_tokens) == (120, 12)
    assert result.model == "gpt-test-2026" and result.finish_reason == "stop"
    sent = json.loads(httpserver.log[0][0].data)
    assert sent["model"] == "gpt-test"
    assert sent["messages"][0] == {"role": "system", "content": "You answer support questions."}
    assert sent["tools"][0]["function"]["name"] == "ticket_status"


def test_openai_tool_call_is_parsed(httpserver):
    httpserver.expect_request("/v1/chat/completions").respond_with_json(OPENAI_TOOL)
    result = _openai(httpserver).complete(_request(), timeout_s=5)
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_1", "ticket_status", {"number": "TKT-20261201-0001"})
    ]


def test_anthropic_success_and_tool_use(httpserver):
    httpserver.expect_ordered_request(
        "/v1/messages", headers={"x-api-key": "key", "anthropic-version": "2023-06-01"}
    ).respond_with_json(ANTHROPIC_OK)
    httpserver.expect_ordered_request("/v1/messages").respond_with_json(ANTHROPIC_TOOL)
    provider = _anthropic(httpserver)
    first = provider.complete(_request(), timeout_s=5)
    assert (first.text, first.input_tokens, first.output_tokens) == ("Use the reset link.", 50, 6)
    sent = json.loads(httpserver.log[0][0].data)
    assert sent["system"] == "You answer support questions."
    assert sent["messages"] == [{"role": "user", "content": "How do I reset my password?"}]
    second = provider.complete(_request(), timeout_s=5)
    assert second.finish_reason == "tool_use"
    assert [(c.name, c.arguments) for c in second.tool_calls] == [
        ("booking_lookup", {"number": "BK-1"})
    ]


def test_429_is_retried_after_the_servers_retry_after(httpserver):
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "rate limited"}}, status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(OPENAI_OK)
    sleeps = Sleeps()
    result = _openai(httpserver, sleeps).complete(_request(), timeout_s=10)
    assert result.attempts == 2 and sleeps == [2.0]


def test_a_retry_after_past_the_deadline_gives_up_at_once(httpserver):
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {}}, status=429, headers={"Retry-After": "30"}
    )
    sleeps = Sleeps()
    with pytest.raises(ProviderTimeout):
        _openai(httpserver, sleeps).complete(_request(), timeout_s=5)
    assert sleeps == [] and len(httpserver.log) == 1


def test_500_is_retried_then_fails(httpserver):
    httpserver.expect_request("/v1/messages").respond_with_data("boom", status=500)
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as failure:
        _anthropic(httpserver, sleeps).complete(_request(), timeout_s=30)
    assert failure.value.status == 500 and failure.value.attempts == 3
    assert len(httpserver.log) == 3 and len(sleeps) == 2


def test_400_is_not_retried(httpserver):
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"error": {}}, status=400)
    with pytest.raises(ProviderError) as failure:
        _openai(httpserver).complete(_request(), timeout_s=5)
    assert failure.value.status == 400 and len(httpserver.log) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps({"choices": []}),
        json.dumps([1, 2]),
        json.dumps({"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}),
    ],
)
def test_malformed_bodies_are_refused(httpserver, body):
    httpserver.expect_request("/v1/chat/completions").respond_with_data(
        body, content_type="application/json"
    )
    with pytest.raises(ProviderMalformed):
        _openai(httpserver).complete(_request(), timeout_s=5)


@pytest.fixture
def slow_server(httpserver):
    """Answers only when the test lets it (or after 10 s): a provider past the deadline."""
    release = threading.Event()

    def slow(request):
        release.wait(10)
        return Response(json.dumps(OPENAI_OK), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)
    yield httpserver
    release.set()


def test_a_slow_provider_times_out_within_the_deadline(slow_server):
    with pytest.raises(ProviderTimeout):
        _openai(slow_server).complete(_request(), timeout_s=0.3)


# --- the gateway: a row for every path, fallback within the timeout -------------------------


@pytest.fixture
def hosted(settings, httpserver):
    settings.AI_PROVIDER = "openai_compatible"
    settings.AI_BASE_URL = httpserver.url_for("/v1")
    settings.AI_MODEL = "gpt-test"
    settings.AI_LOG_CONTENT = "full"
    settings.AI_PRICE_TABLE = json.dumps({"gpt-test-2026": [2.0, 8.0]})
    return httpserver


def test_success_is_logged_with_tokens_cost_and_budget(db, hosted, agent):
    hosted.expect_request("/v1/chat/completions").respond_with_json(OPENAI_OK)
    done = gateway.complete(_request(), user=agent)
    row = done.interaction
    assert done.provider == "openai_compatible"
    assert (row.outcome, row.model_requested, row.model_returned) == (
        Outcome.SUCCESS,
        "gpt-test",
        "gpt-test-2026",
    )
    assert (row.input_tokens, row.output_tokens, row.user) == (120, 12, agent)
    assert float(row.cost) == pytest.approx((120 * 2 + 12 * 8) / 1e6)
    assert "How do I reset my password?" in row.prompt and row.response.startswith("Reset")
    assert DailyTokenUsage.objects.get().tokens == 132


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda s: s.respond_with_data("down", status=503), Outcome.ERROR),
        (lambda s: s.respond_with_data("{oops", content_type="application/json"), Outcome.ERROR),
    ],
)
def test_a_failing_provider_falls_back_to_local_and_both_are_logged(
    db, hosted, respond, outcome, settings
):
    settings.AI_MAX_RETRIES = 0
    respond(hosted.expect_request("/v1/chat/completions"))
    passages = [
        {
            "id": "KB-00001",
            "title": "Reset",
            "score": 0.9,
            "text": "Open the login page. Choose Forgot password. Follow the e-mail.",
        }
    ]
    done = gateway.complete(_request(passages=passages))
    assert done.provider == "local" and done.result.citations == ["KB-00001"]
    failed, answered = AIInteraction.objects.order_by("pk")
    assert (failed.provider, failed.outcome) == ("openai_compatible", outcome)
    assert failed.error
    assert (answered.provider, answered.outcome) == ("local", Outcome.FALLBACK)


def test_a_timeout_falls_back_within_the_timeout(db, settings, slow_server):
    settings.AI_PROVIDER = "openai_compatible"
    settings.AI_BASE_URL = slow_server.url_for("/v1")
    settings.AI_TIMEOUT_S = 0.3
    import time

    started = time.monotonic()
    done = gateway.complete(_request())
    assert time.monotonic() - started < 2
    assert done.provider == "local" and done.result.finish_reason == "handoff"
    assert list(AIInteraction.objects.order_by("pk").values_list("outcome", flat=True)) == [
        Outcome.TIMEOUT,
        Outcome.HANDOFF,
    ]


def test_the_daily_budget_refuses_the_hosted_call(db, hosted, settings):
    settings.AI_DAILY_TOKEN_BUDGET = 100
    DailyTokenUsage.objects.create(
        day=__import__("django.utils.timezone").utils.timezone.now().date(), tokens=90
    )
    done = gateway.complete(_request())
    assert hosted.log == []  # the provider was never called
    assert done.provider == "local"
    refused = AIInteraction.objects.order_by("pk").first()
    assert refused.outcome == Outcome.REFUSED_BUDGET and "budget" in refused.error


def test_redacted_and_no_content_logging(db, settings):
    settings.AI_LOG_CONTENT = "redacted"
    question = "I am ann@example.com, card 4111 1111 1111 1111, help"
    gateway.complete(_request(messages=[{"role": "user", "content": question}]))
    row = AIInteraction.objects.get()
    assert "ann@example.com" not in row.prompt and "4111" not in row.prompt
    assert "[email]" in row.prompt and row.prompt_sha256
    settings.AI_LOG_CONTENT = "none"
    gateway.complete(_request(messages=[{"role": "user", "content": question}]))
    assert AIInteraction.objects.order_by("-pk").first().prompt == ""


def test_local_is_deterministic_and_offline():
    passages = [
        {
            "id": 7,
            "title": "Invoices",
            "score": 0.8,
            "text": "Invoices are in Billing. Each invoice shows your VAT number. "
            "Download a PDF from the list.",
        }
    ]
    request = _request(
        messages=[{"role": "user", "content": "Where is the VAT number?"}], passages=passages
    )
    first = LocalProvider().complete(request)
    assert first == LocalProvider().complete(request)
    assert "VAT number" in first.text and first.citations == [7]
    assert first.confidence == 0.8
