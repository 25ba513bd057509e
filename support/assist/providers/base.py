"""The one interface every provider implements, and what it takes and returns."""

import re
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict


@dataclass
class CompletionRequest:
    feature: str
    system: str
    messages: list[dict]  # [{"role": "user" | "assistant", "content": str}]
    model: str = ""
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 512
    temperature: float = 0.0
    # Passages retrieved for the answer: [{"id": ..., "title": ..., "text": ..., "score": ...}].
    # The local provider answers from them; hosted ones get them inside the prompt.
    passages: list[dict] = field(default_factory=list)


@dataclass
class CompletionResult:
    text: str
    model: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    tool_calls: list[ToolCall] = field(default_factory=list)
    confidence: float | None = None
    request_id: str = ""
    attempts: int = 1
    citations: list = field(default_factory=list)


class ProviderError(Exception):
    """The provider failed (HTTP error after retries, refused connection)."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ProviderTimeout(ProviderError):
    """No answer within the call's deadline (retries included)."""


class ProviderMalformed(ProviderError):
    """The provider answered, but not in its documented shape."""


class Provider(Protocol):
    name: str

    def complete(self, request: CompletionRequest, *, timeout_s: float) -> CompletionResult: ...


_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """Tokens by a fixed regex (words and punctuation marks): an estimate, documented as such,
    used where no provider reports its own count (the local provider, the budget pre-check)."""
    return len(_TOKEN.findall(text or ""))
