"""The router: which channel serves a request, retries, fallback and breakers.

For a requested model the router tries the model, then each model of its fallback list
(`HUB_MODEL_FALLBACKS`). For each model it picks a channel by weight among the channels whose
breaker lets requests through, preferring channels not yet tried for this request. Retryable
errors (429, 5xx, timeouts, resets, a broken or malformed stream) are retried up to
`HUB_PROVIDER_MAX_ATTEMPTS` times per model with exponential backoff and jitter (tenacity),
honouring the provider's `retry-after`; a retry that goes to another channel does not wait. A
`retry-after` longer than `HUB_PROVIDER_RETRY_MAX_S` ends the retries for that model at once.
A request the provider refused as invalid is never retried nor sent elsewhere.

Retry and fallback happen only before the first text is delivered. After it, an upstream
failure ends the stream with `ProviderStreamInterrupted` and the caller charges what was
delivered. A fallback model is served at the requested model's price (the hold's price).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol, TypeVar

import redis
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from app.chat.events import TextDelta, Usage
from app.chat.request import ChatRequest
from app.config import Settings
from app.metrics import PROVIDER_ATTEMPTS
from app.providers.breaker import CLOSED, BreakerStore
from app.providers.catalog import Catalog, ModelSpec
from app.providers.channel import Channel
from app.providers.embedding import EmbeddingRequest, EmbeddingResult
from app.providers.errors import (
    ModelNotFound,
    NoProviderAvailable,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderStreamInterrupted,
    ProviderUnavailable,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")
OnProvider = Callable[[str, str], None]


class Channels(Protocol):
    """What the router routes over (`app.providers.registry.Registry` is one)."""

    settings: Settings
    catalog: Catalog
    channels: dict[str, Channel]
    breakers: BreakerStore


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.retryable


def _counts_against_channel(exc: ProviderError) -> bool:
    """Failures that say something about the channel (not about the request)."""
    return exc.retryable or isinstance(exc, ProviderAuthError) or exc.upstream_status == 404


class Router:
    def __init__(self, registry: Channels, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.registry = registry
        self.settings = registry.settings
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # nosec B311  # weighted choice of a provider, not a secret
        self._backoff = wait_exponential_jitter(initial=self.settings.HUB_PROVIDER_RETRY_INITIAL_S,
                                                max=self.settings.HUB_PROVIDER_RETRY_MAX_S,
                                                jitter=self.settings.HUB_PROVIDER_RETRY_INITIAL_S)

    # --- channels -------------------------------------------------------------------------
    def candidates(self, model_id: str) -> list[str]:
        """The model, then its offered fallbacks, in order."""
        catalog = self.registry.catalog
        catalog.spec(model_id)  # ModelNotFound for an unknown or disabled model
        fallbacks = self.settings.HUB_MODEL_FALLBACKS.get(model_id, [])
        offered = {s.id for s in catalog.specs()}
        ordered = [model_id] + [m for m in fallbacks if m in offered and m != model_id]
        return list(dict.fromkeys(ordered))

    def _allowed(self, channel: Channel) -> bool:
        try:
            return self.registry.breakers.allow(channel.id, self.clock())
        except redis.RedisError as exc:  # the breaker store failing must not stop traffic
            log.warning("breaker_unreachable", channel=channel.id, error=str(exc))
            return True

    def choose(self, model_id: str, tried: set[str] | frozenset[str] = frozenset()) -> Channel:
        """A channel for the model by weight, among those whose breaker allows; untried first.

        Only the drawn channel's breaker is asked (asking claims a half-open probe); a refused
        one is dropped and the draw repeated, which is a weighted draw among the allowed.
        """
        channels = [self.registry.channels[c.id]
                    for c in self.registry.catalog.channels_for(model_id)]
        for pool in ([c for c in channels if c.id not in tried],
                     [c for c in channels if c.id in tried]):
            while pool:
                channel = self.rng.choices(pool, weights=[c.weight for c in pool])[0]
                if self._allowed(channel):
                    return channel
                pool.remove(channel)
        raise NoProviderAvailable(f"every provider for {model_id} is failing or cooling down; "
                                  "try again later")

    def _record(self, channel: Channel, exc: ProviderError | None) -> None:
        outcome = "ok" if exc is None else exc.code
        PROVIDER_ATTEMPTS.labels(channel.provider, channel.id, outcome).inc()
        try:
            if exc is None:
                self.registry.breakers.record_success(channel.id)
            elif _counts_against_channel(exc):
                state = self.registry.breakers.record_failure(channel.id, self.clock())
                log.warning("provider_failed", channel=channel.id, error=exc.code,
                            message=exc.message, breaker=state)
        except redis.RedisError as error:
            log.warning("breaker_unreachable", channel=channel.id, error=str(error))

    # --- retries and fallback -------------------------------------------------------------
    def _with_retries(self, model_id: str, call: Callable[[Channel], T],
                      on_provider: OnProvider | None) -> T:
        tried: set[str] = set()
        max_wait_s = self.settings.HUB_PROVIDER_RETRY_MAX_S

        def attempt() -> T:
            channel = self.choose(model_id, tried)
            tried.add(channel.id)
            if on_provider is not None:
                on_provider(channel.provider, channel.id)
            try:
                result = call(channel)
            except ProviderError as exc:
                self._record(channel, exc)
                raise
            self._record(channel, None)
            return result

        def has_untried() -> bool:
            return any(c.id not in tried and self._allowed_quietly(c.id)
                       for c in self.registry.catalog.channels_for(model_id))

        def wait(state: RetryCallState) -> float:
            if has_untried():
                return 0.0
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after_s", None)
            return retry_after if retry_after is not None else self._backoff(state)

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after_s", None)
            too_long = retry_after is not None and retry_after > max_wait_s and not has_untried()
            return too_long or stop_after_attempt(self.settings.HUB_PROVIDER_MAX_ATTEMPTS)(state)

        retrying = Retrying(stop=stop, wait=wait, retry=retry_if_exception(_retryable),
                            sleep=lambda seconds: self.sleep(seconds) if seconds > 0 else None,
                            reraise=True)
        return retrying(attempt)

    def _allowed_quietly(self, channel_id: str) -> bool:
        """Whether a channel's breaker is closed, without claiming a half-open probe."""
        try:
            state, _ = self.registry.breakers.state(channel_id)
        except redis.RedisError:
            return True
        return state == CLOSED

    def serve(self, model_id: str, call: Callable[[Channel, ModelSpec], T],
              on_provider: OnProvider | None = None) -> T:
        """Run `call` on a channel of the model or of its fallbacks, retrying as documented."""
        last: ProviderError | None = None
        for candidate in self.candidates(model_id):
            spec = self.registry.catalog.spec(candidate)
            try:
                return self._with_retries(candidate, lambda ch, s=spec: call(ch, s), on_provider)
            except (ProviderBadRequest, ModelNotFound):
                raise
            except ProviderError as exc:
                last = exc
                log.warning("provider_fallback", model=model_id, failed=candidate,
                            error=exc.code)
        if last is None:  # candidates() always holds the requested model
            raise ModelNotFound(f"no enabled provider serves {model_id}")
        raise last

    # --- chat -----------------------------------------------------------------------------
    @staticmethod
    def _for_model(request: ChatRequest, spec: ModelSpec) -> ChatRequest:
        if spec.id == request.model:
            return request
        max_tokens = min(request.max_tokens, spec.max_output_tokens or request.max_tokens)
        return replace(request, model=spec.id, max_tokens=max_tokens)

    def stream_chat(self, request: ChatRequest, *, on_provider: OnProvider | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    ) -> Iterator[TextDelta | Usage]:
        if should_stop is not None and should_stop():
            return

        def open_stream(channel: Channel, spec: ModelSpec):
            stream = channel.chat.stream_chat(self._for_model(request, spec), spec)
            try:
                first = next(stream)
            except StopIteration:
                raise ProviderUnavailable(f"{channel.provider}: empty response stream") from None
            except BaseException:
                stream.close()
                raise
            return channel, first, stream

        channel, item, stream = self.serve(request.model, open_stream, on_provider)
        try:
            while True:
                if should_stop is not None and should_stop():
                    log.info("provider_stream_stopped", channel=channel.id, model=request.model)
                    return
                yield item
                try:
                    item = next(stream)
                except StopIteration:
                    return
                except ProviderError as exc:
                    self._record(channel, exc)
                    raise ProviderStreamInterrupted(
                        f"the reply broke off after text was delivered: {exc.message}") from exc
        finally:
            stream.close()

    def embed(self, request: EmbeddingRequest, *,
              on_provider: OnProvider | None = None) -> EmbeddingResult:
        """Embeddings from a channel of the model (or of an embedding model among its
        fallbacks), with the same retries and breakers as chat."""
        def call(channel: Channel, spec: ModelSpec) -> EmbeddingResult:
            if channel.embeddings is None or spec.kind != "embedding":
                raise ProviderUnavailable(f"{channel.provider} cannot embed with {spec.id}")
            return channel.embeddings.embed(replace(request, model=spec.id), spec)

        return self.serve(request.model, call, on_provider)

    def complete_chat(self, request: ChatRequest) -> tuple[str, Usage]:
        return self.serve(request.model, lambda channel, spec: channel.chat.complete_chat(
            self._for_model(request, spec), spec))

    def count_input_tokens(self, request: ChatRequest) -> int | None:
        """The provider's exact prompt count if a healthy channel offers one in time."""
        spec = self.registry.catalog.spec(request.model)
        try:
            channel = self.choose(request.model)
        except NoProviderAvailable:
            return None
        try:
            count = channel.chat.count_input_tokens(
                request, spec, timeout_s=self.settings.HUB_TOKEN_COUNT_TIMEOUT_S)
        except ProviderError as exc:
            self._record(channel, exc)
            log.info("token_count_unavailable", channel=channel.id, error=exc.code)
            return None
        if count is not None:
            self._record(channel, None)
        return count
