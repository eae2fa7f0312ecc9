"""A fast fake OpenAI upstream for the gateway benchmark: `python -m scripts.bench.fast_upstream`.

The test suite's fake (`tests.fake_upstream`) injects faults and records every request on a
thread-per-connection server; it tops out near 300 streamed replies per second here and would
spend the benchmark's CPU on itself. This one speaks the same wire format for the one route the
benchmark uses (`POST /v1/chat/completions`, streamed SSE chunks, the usage chunk when
`stream_options.include_usage`, `data: [DONE]`; plus `GET /v1/models`) on aiohttp's event loop,
with the same deterministic reply (chunk i is `WORDS[i % len(WORDS)]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from aiohttp import web

from tests.fake_upstream.server import WORDS, FakeUpstream


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def build_app(*, chunks: int, delay_s: float, api_key: str) -> web.Application:
    texts = [WORDS[i % len(WORDS)] if i == 0 else " " + WORDS[i % len(WORDS)]
             for i in range(chunks)]

    async def chat(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {api_key}":
            return web.json_response({"error": {"message": "bad key", "type": "invalid_request_error",
                                                "code": "invalid_api_key"}}, status=401)
        body = await request.json()
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body["model"]}
        usage = {"prompt_tokens": FakeUpstream.input_tokens(body["messages"]),
                 "completion_tokens": chunks}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            return web.json_response({**base, "object": "chat.completion", "usage": usage,
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant",
                                                               "content": "".join(texts)}}]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(_event({**base, "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}))
        for index, text in enumerate(texts):
            if index and delay_s:
                await asyncio.sleep(delay_s)
            await response.write(_event({**base, "choices": [
                {"index": 0, "delta": {"content": text}, "finish_reason": None}]}))
        await response.write(_event({**base, "choices": [
            {"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(_event({**base, "choices": [], "usage": usage}))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default="sk-fake-upstream")
    args = parser.parse_args()
    web.run_app(build_app(chunks=args.chunks, delay_s=args.delay_ms / 1000, api_key=args.api_key),
                host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
