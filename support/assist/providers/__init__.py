"""Providers behind one interface: `local` (default), `openai_compatible`, `anthropic`."""

from .base import (
    CompletionRequest,
    CompletionResult,
    Provider,
    ProviderError,
    ProviderMalformed,
    ProviderTimeout,
    ToolCall,
    ToolSpec,
)

__all__ = [
    "CompletionRequest",
    "CompletionResult",
    "Provider",
    "ProviderError",
    "ProviderMalformed",
    "ProviderTimeout",
    "ToolCall",
    "ToolSpec",
]


def get_provider(name: str, **options) -> "Provider":
    from .anthropic import AnthropicProvider
    from .local import LocalProvider
    from .openai_compatible import OpenAICompatibleProvider

    classes = {
        "local": LocalProvider,
        "openai_compatible": OpenAICompatibleProvider,
        "anthropic": AnthropicProvider,
    }
    if name not in classes:
        raise ValueError(f"Unknown AI provider {name!r}; one of {', '.join(classes)}.")
    return classes[name](**options)
