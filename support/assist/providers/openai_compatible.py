"""OpenAI-compatible chat completions (OpenAI, Azure's compatible endpoint, vLLM, Ollama,
llama.cpp server, LM Studio, OpenRouter): ~one request shape, parsed without an SDK."""

import json
import time

from .base import CompletionRequest, CompletionResult, ProviderMalformed, ToolCall
from .http import post_json
from .prompting import user_content


class OpenAICompatibleProvider:
    name = "openai_compatible"

    def __init__(
        self, *, base_url: str, api_key: str = "", model: str = "", max_retries=2, sleep=time.sleep
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.model = model
        self.max_retries = max_retries
        self.sleep = sleep

    def payload(self, request: CompletionRequest) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [
            {"role": m["role"], "content": user_content(m, request)} for m in request.messages
        ]
        payload = {
            "model": request.model or self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        return payload

    def complete(self, request: CompletionRequest, *, timeout_s: float) -> CompletionResult:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
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
            choice = body["choices"][0]
            message = choice["message"]
            usage = body.get("usage") or {}
            calls = []
            for call in message.get("tool_calls") or []:
                arguments = call["function"].get("arguments") or "{}"
                calls.append(
                    ToolCall(
                        id=call.get("id", ""),
                        name=call["function"]["name"],
                        arguments=json.loads(arguments)
                        if isinstance(arguments, str)
                        else arguments,
                    )
                )
            return CompletionResult(
                text=message.get("content") or "",
                model=body.get("model", ""),
                finish_reason=choice.get("finish_reason") or "",
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
                tool_calls=calls,
                request_id=body.get("id", ""),
                attempts=attempts,
            )
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise ProviderMalformed(
                f"Unexpected chat completion shape: {error!r}", attempts=attempts
            ) from error
