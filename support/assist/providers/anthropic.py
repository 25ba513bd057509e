"""Anthropic Messages API: `content` blocks (text, tool_use), `stop_reason`, `usage`."""

import time

from .base import CompletionRequest, CompletionResult, ProviderMalformed, ToolCall
from .http import post_json
from .prompting import user_content

API_VERSION = "2023-06-01"


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        *,
        base_url: str = "",
        api_key: str = "",
        model: str = "",
        max_retries=2,
        sleep=time.sleep,
    ):
        self.url = (base_url or "https://api.anthropic.com").rstrip("/") + "/v1/messages"
        self.api_key = api_key
        self.model = model
        self.max_retries = max_retries
        self.sleep = sleep

    def payload(self, request: CompletionRequest) -> dict:
        payload = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": [
                {"role": m["role"], "content": user_content(m, request)} for m in request.messages
            ],
        }
        if request.system:
            payload["system"] = request.system
        if request.tools:
            payload["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        return payload

    def complete(self, request: CompletionRequest, *, timeout_s: float) -> CompletionResult:
        headers = {"x-api-key": self.api_key, "anthropic-version": API_VERSION}
        body, attempts = post_json(
            self.url,
            payload=self.payload(request),
            headers=headers,
            timeout_s=timeout_s,
            max_retries=self.max_retries,
            sleep=self.sleep,
        )
        return self.parse(body, attempts)

    @staticmethod
    def parse(body: dict, attempts: int = 1) -> CompletionResult:
        try:
            if body.get("type") == "error":
                raise ProviderMalformed(f"Error body: {body.get('error')}", attempts=attempts)
            texts, calls = [], []
            for block in body["content"]:
                if block["type"] == "text":
                    texts.append(block["text"])
                elif block["type"] == "tool_use":
                    calls.append(
                        ToolCall(id=block["id"], name=block["name"], arguments=block["input"])
                    )
            usage = body["usage"]
            return CompletionResult(
                text="".join(texts),
                model=body.get("model", ""),
                finish_reason=body.get("stop_reason") or "",
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                tool_calls=calls,
                request_id=body.get("id", ""),
                attempts=attempts,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ProviderMalformed(
                f"Unexpected message shape: {error!r}", attempts=attempts
            ) from error
