"""The local provider: deterministic and offline. It generates nothing: an answer is the
passage sentences that best match the question, cited, with the retrieval's confidence; with no
passage good enough it asks for a hand-off (the `handoff_to_agent` tool call)."""

import re

from django.conf import settings

from .base import CompletionRequest, CompletionResult, ToolCall, estimate_tokens

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MODEL = "local-extractive-1"


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


class LocalProvider:
    name = "local"

    def __init__(self, **_options):
        pass

    def complete(self, request: CompletionRequest, *, timeout_s: float = 0) -> CompletionResult:
        question = request.messages[-1]["content"] if request.messages else ""
        prompt_tokens = estimate_tokens(request.system) + sum(
            estimate_tokens(m["content"]) for m in request.messages
        )
        prompt_tokens += sum(estimate_tokens(p["text"]) for p in request.passages)
        best = request.passages[0] if request.passages else None
        threshold = settings.AI_ANSWER_THRESHOLD
        if best is None or best.get("score", 0) < threshold:
            reason = "No article answers this well enough."
            return CompletionResult(
                text="",
                model=MODEL,
                finish_reason="handoff",
                input_tokens=prompt_tokens,
                output_tokens=0,
                tool_calls=[
                    ToolCall(id="local-1", name="handoff_to_agent", arguments={"reason": reason})
                ],
                confidence=best.get("score", 0.0) if best else 0.0,
            )
        asked = _words(question)
        sentences = [s for s in _SENTENCE.split(best["text"].strip()) if s]
        # The two sentences sharing most words with the question, in their own order.
        ranked = sorted(
            range(len(sentences)), key=lambda i: (-len(asked & _words(sentences[i])), i)
        )[:2]
        text = " ".join(sentences[i] for i in sorted(ranked))
        return CompletionResult(
            text=text,
            model=MODEL,
            finish_reason="stop",
            input_tokens=prompt_tokens,
            output_tokens=estimate_tokens(text),
            confidence=float(best["score"]),
            citations=[best["id"]],
        )
