"""A fast fake OpenAI upstream for the gateway benchmark: `python -m scripts.bench.fast_upstream`.

The test suite's fake (`tests.fake_upstream`) injects faults and records every request on a
thread-per-connection server; it tops out near 300 streamed replies per second here and would
spend the benchmark's CPU on itself. This one speaks the same wire format for the routes the
benchmark uses (`POST /v1/chat/completions`, streamed SSE chunks, the usage chunk when
`stream_options.include_usage`, `data: [DONE]`; `POST /v1/embeddings`; `GET /v1/models`) on
aiohttp's event loop, with the same deterministic reply (chunk i is `WORDS[i % len(WORDS)]`).

A chat request with a non-empty `tools` is answered with one call of the first tool, streamed
as OpenAI streams it: a first chunk with the role and the call's header (index, id, type,
`function.name`, empty `arguments`), then its arguments, `{"query": "<the plain reply>"}`, in
`--chunks` pieces `--delay-ms` apart, then `finish_reason: "tool_calls"`. A chat request
without `tools` gets exactly the bytes it got before tools were added (an A/B across commits
runs each commit's own copy of this file, but the plain reply stays the baseline all the same).

`POST /v1/embeddings` answers after one `--delay-ms` (a model's compute time) with one vector
per input, `--dimensions` floats each (or the request's `dimensions`), as JSON floats or, with
`encoding_format: base64`, little-endian float32 in base64, as OpenAI does. Every input gets
the same precomputed unit vector, serialized once, so the fake spends almost nothing per
request; `usage.prompt_tokens` counts words per input (token ids for a token array), at least 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import struct
import time
import uuid
from functools import cache

from aiohttp import web

from tests.fake_upstream.server import WORDS, FakeUpstream


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _refusal(message: str, code: str, status: int) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                        "code": code}}, status=status)


@cache
def _vector_texts(dimensions: int) -> tuple[str, str]:
    """One deterministic unit vector of `dimensions` float32 values, as a JSON array and as
    OpenAI's base64 (little-endian float32), each serialized once."""
    raw = [math.sin(i * 0.7 + 0.3) for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(x / norm for x in raw))
    values = struct.unpack(f"<{dimensions}f", packed)  # the float32 values base64 carries
    floats = "[" + ",".join(f"{x:.9g}" for x in values) + "]"
    return floats, json.dumps(base64.b64encode(packed).decode())


def _embedding_inputs(value: object) -> list[int] | None:
    """Tokens per input (words of a string, length of a token array); None if malformed."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(t, int) for t in value):  # one token array
        return [len(value)]
    counts = []
    for item in value:
        if isinstance(item, str):
            counts.append(max(1, len(item.split())))
        elif isinstance(item, list) and item:
            counts.append(len(item))
        else:
            return None
    return counts


def _tool_call_stream(body: dict, base: dict, texts: list[str]) -> tuple[list[dict], str]:
    """The chunks of one streamed call of the first tool (header, then argument pieces made
    of the plain reply's pieces) and the whole arguments JSON."""
    pieces = list(texts) or [""]
    pieces[0] = '{"query": "' + pieces[0]
    pieces[-1] = pieces[-1] + '"}'
    call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
            "function": {"name": body["tools"][0]["function"]["name"], "arguments": ""}}
    header = {**base, "choices": [{"index": 0, "finish_reason": None, "delta": {
        "role": "assistant", "content": None, "tool_calls": [call]}}]}
    return [header] + [{**base, "choices": [{"index": 0, "finish_reason": None, "delta": {
        "tool_calls": [{"index": 0, "function": {"arguments": piece}}]}}]}
        for piece in pieces], "".join(pieces)


def build_app(*, chunks: int, delay_s: float, api_key: str,
              dimensions: int = 1536) -> web.Application:
    texts = [WORDS[i % len(WORDS)] if i == 0 else " " + WORDS[i % len(WORDS)]
             for i in range(chunks)]

    async def tool_call(request: web.Request, body: dict, base: dict,
                        usage: dict) -> web.StreamResponse:
        chunk_list, arguments = _tool_call_stream(body, base, texts)
        if not body.get("stream"):
            header = chunk_list[0]["choices"][0]["delta"]["tool_calls"][0]
            call = {"id": header["id"], "type": "function",
                    "function": {"name": header["function"]["name"], "arguments": arguments}}
            return web.json_response({**base, "object": "chat.completion", "usage": usage,
                                      "choices": [{"index": 0, "finish_reason": "tool_calls",
                                                   "message": {"role": "assistant", "content": None,
                                                               "tool_calls": [call]}}]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(_event(chunk_list[0]))
        for index, chunk in enumerate(chunk_list[1:]):
            if index and delay_s:
                await asyncio.sleep(delay_s)
            await response.write(_event(chunk))
        await response.write(_event({**base, "choices": [
            {"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(_event({**base, "choices": [], "usage": usage}))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

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
        if body.get("tools"):
            return await tool_call(request, body, base, usage)
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

    async def embeddings(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {api_key}":
            return _refusal("bad key", "invalid_api_key", 401)
        body = await request.json()
        counts = _embedding_inputs(body.get("input"))
        if counts is None:
            return _refusal("input: a string, strings or token arrays", "invalid_input", 400)
        if delay_s:
            await asyncio.sleep(delay_s)
        floats, encoded = _vector_texts(int(body.get("dimensions") or dimensions))
        vector = encoded if body.get("encoding_format") == "base64" else floats
        data = ",".join(f'{{"object":"embedding","index":{i},"embedding":{vector}}}'
                        for i in range(len(counts)))
        tokens = sum(counts)
        tail = json.dumps({"model": body.get("model"),
                           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
        return web.Response(text=f'{{"object":"list","data":[{data}],{tail[1:]}',
                            content_type="application/json")

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}]})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_get("/v1/models", models)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default="sk-fake-upstream")
    parser.add_argument("--dimensions", type=int, default=1536,
                        help="floats per embedding unless the request names `dimensions`")
    args = parser.parse_args()
    web.run_app(build_app(chunks=args.chunks, delay_s=args.delay_ms / 1000, api_key=args.api_key,
                          dimensions=args.dimensions),
                host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
