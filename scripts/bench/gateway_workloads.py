"""The gateway benchmark's workloads: what one request sends and what the client times.

- `chat`: a streamed chat completion (the upstream sends 50 text chunks); timed to the first
  text delta and to `[DONE]`. The benchmark's original workload, the default.
- `tools`: the same streamed request with one function tool; the upstream answers with one
  call streamed as a header and 50 argument pieces. Timed to the first `delta.tool_calls`
  (the piece naming the call) and to `[DONE]`.
- `embeddings`: one batch of 16 inputs of 100 tokens each (cl100k_base, which the hub counts
  for the hold) with `encoding_format: base64`, as the openai SDK sends by default, not
  streamed; timed to the whole body, whose vectors are counted.

Each request returns (first piece ms, total ms, the hub's `X-Hub-Overhead-Ms` or None); for a
reply that is not streamed the first piece is the whole body.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
EMBEDDING_INPUTS = 16
WORDS_PER_INPUT = 100  # one cl100k_base token each, so ~100 tokens per input
_VOCABULARY = ("Hello", "from", "the", "fake", "upstream", "streaming", "tokens", "one", "by",
               "one")

SEARCH_TOOL = {"type": "function", "function": {
    "name": "search_docs", "description": "Search the documentation for a query.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                   "required": ["query"]}}}


@dataclass(frozen=True)
class Workload:
    name: str
    path: str
    body: dict[str, Any]

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))


def _embedding_inputs() -> list[str]:
    return [" ".join(_VOCABULARY[(i + 3 * j) % len(_VOCABULARY)] for j in range(WORDS_PER_INPUT))
            for i in range(EMBEDDING_INPUTS)]


_CHAT = {"model": MODEL, "stream": True, "max_tokens": 100,
         "messages": [{"role": "user", "content": "benchmark"}]}
WORKLOADS = {
    "chat": Workload("chat", "/v1/chat/completions", _CHAT),
    "tools": Workload("tools", "/v1/chat/completions", {**_CHAT, "tools": [SEARCH_TOOL]}),
    "embeddings": Workload("embeddings", "/v1/embeddings", {
        "model": EMBEDDING_MODEL, "input": _embedding_inputs(), "encoding_format": "base64"}),
}


def parse_workloads(text: str) -> list[Workload]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        raise SystemExit(f"--workloads: unknown {unknown or text!r}; choose from "
                         f"{', '.join(WORKLOADS)}")
    return [WORKLOADS[name] for name in names]


def _is_first_delta(payload: bytes) -> bool:
    """Whether an SSE chunk carries generated output: text, or a piece of a tool call."""
    choices = json.loads(payload).get("choices") or [{}]
    delta = choices[0].get("delta", {})
    return bool(delta.get("content") or delta.get("tool_calls"))


async def one_request(session: aiohttp.ClientSession, workload: Workload, url: str,
                      headers: dict) -> tuple[float, float, float | None]:
    start = time.perf_counter()
    first = None
    async with session.post(url, json=workload.body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}: {await response.text()}")
        reported = response.headers.get("X-Hub-Overhead-Ms")  # the hub's own account
        if workload.streamed:
            async for raw in response.content:  # one SSE line at a time
                line = raw.rstrip(b"\r\n")
                if line == b"data: [DONE]":
                    break
                if first is None and line.startswith(b"data: {") and _is_first_delta(line[6:]):
                    first = time.perf_counter() - start
        else:
            data = json.loads(await response.read()).get("data") or []
            if len(data) != len(workload.body["input"]):
                raise RuntimeError(f"{url}: {len(data)} embeddings for "
                                   f"{len(workload.body['input'])} inputs")
    total = time.perf_counter() - start
    if first is None and workload.streamed and workload.name != "chat":
        raise RuntimeError(f"{url}: a {workload.name} stream without a first delta")
    return ((first if first is not None else total) * 1000, total * 1000,
            float(reported) if reported is not None else None)
