"""The module-level API the jobs area uses (inside an app context): chat and video through the
current app's router (`app.providers.routing.Router`, built by the registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from app.chat.events import TextDelta, Usage
from app.chat.request import ChatRequest
from app.providers.embedding import EmbeddingRequest, EmbeddingResult
from app.providers.registry import current_registry
from app.providers.routing import OnProvider, Router
from app.providers.video import RoutedVideo


def current_router() -> Router:
    return current_registry().router


def stream_chat(request: ChatRequest, *, on_provider: OnProvider | None = None,
                should_stop: Callable[[], bool] | None = None) -> Iterator[TextDelta | Usage]:
    """Stream a chat reply: text deltas, then (when the provider reported it) one Usage.

    Chooses the channel (weights, health, breakers), retries and falls back before the first
    delivered delta and never after; calls `on_provider(provider, channel_id)` for each channel
    tried; checks `should_stop` between chunks and closes the upstream stream when it says so.
    Raises ProviderError subclasses (ModelNotFound, ProviderBadRequest, NoProviderAvailable,
    ProviderStreamInterrupted after delivery, or the last upstream error).
    """
    return current_router().stream_chat(request, on_provider=on_provider,
                                        should_stop=should_stop)


def complete_chat(request: ChatRequest) -> tuple[str, Usage]:
    """The whole reply at once, with the same retries and fallback as `stream_chat`."""
    return current_router().complete_chat(request)


def embed(request: EmbeddingRequest, *,
          on_provider: OnProvider | None = None) -> EmbeddingResult:
    """Embeddings for the request's inputs, routed, retried and falling back as chat is;
    calls `on_provider(provider, channel_id)` for each channel tried. Raises ProviderError
    subclasses."""
    return current_router().embed(request, on_provider=on_provider)


def video_provider(model: str, *, on_provider: OnProvider | None = None) -> RoutedVideo:
    """A video provider for the model: create() picks the channel; poll() and download()
    return to the channel that created the render (its id is part of the upstream id)."""
    current_router().registry.catalog.spec(model)
    return RoutedVideo(current_router(), model, on_provider=on_provider)
