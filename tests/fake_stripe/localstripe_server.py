"""`localstripe` (a stateful Stripe emulator) served on 127.0.0.1 from a background thread."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class LocalStripe:
    """Start with `start()`, read `url`, stop with `stop()`."""

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="localstripe")

    def start(self) -> LocalStripe:
        from localstripe.server import app  # the emulator's aiohttp application

        self._thread.start()
        self._runner = web.AppRunner(app)
        asyncio.run_coroutine_threadsafe(self._runner.setup(), self._loop).result(timeout=30)
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(timeout=30)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
