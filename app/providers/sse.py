"""Reading a server-sent event stream as it arrives, for the chat adapters' streams
(`app.providers.http_stream`): building the SDKs' typed event object for every token cost more
CPU than the rest of the hub's hot path together."""

from __future__ import annotations

from collections.abc import Iterator


def sse_data(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The payload of each `data:` line of a server-sent event stream, as it arrives (blank
    separators, comments and `event:` lines skipped; one-line data, as OpenAI and Anthropic
    send)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield line[5:].strip()
    if pending.startswith(b"data:"):
        yield pending[5:].strip()
