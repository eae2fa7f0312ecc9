"""The duration of an MP4 file, from its `moov/mvhd` box: pure Python, no decoder.

A video is charged for the seconds it actually lasts (docs/jobs.md#billing-policy-what-every-ending-costs);
providers may deliver less than asked. ISO/IEC 14496-12: a file is a sequence of boxes (32-bit
size, 4-byte type; size 1 means a 64-bit size follows, size 0 means "to the end of the file");
`moov` holds `mvhd`, whose version 0 has 32-bit creation/modification times, timescale and
duration, and version 1 64-bit times and duration.
"""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path
from typing import BinaryIO

MAX_BOXES = 10_000  # a corrupt file must not keep the reader walking


class Mp4DurationUnknown(ValueError):
    """The file has no readable `moov/mvhd` duration (not an MP4, truncated, or zero scale)."""


def _boxes(stream: BinaryIO, end: int | None):
    """(type, payload start, payload size) of each box from the stream's position to `end`."""
    for _ in range(MAX_BOXES):
        start = stream.tell()
        if end is not None and start + 8 > end:
            return
        header = stream.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = stream.read(8)
            if len(large) < 8:
                return
            size, header_size = struct.unpack(">Q", large)[0], 16
        elif size == 0:  # to the end of the enclosing box or file
            stream.seek(0, 2)
            size = (end if end is not None else stream.tell()) - start
        if size < header_size or (end is not None and start + size > end):
            raise Mp4DurationUnknown(f"a malformed box {kind!r} at byte {start}")
        yield kind, start + header_size, size - header_size
        stream.seek(start + size)
    raise Mp4DurationUnknown("too many boxes")


def _mvhd_duration_s(payload: bytes) -> float:
    if len(payload) < 4:
        raise Mp4DurationUnknown("a truncated mvhd box")
    if payload[0] == 1:
        fields = payload[4 + 16:4 + 16 + 12]
        if len(fields) < 12:
            raise Mp4DurationUnknown("a truncated mvhd box")
        timescale, duration = struct.unpack(">IQ", fields)
    else:
        fields = payload[4 + 8:4 + 8 + 8]
        if len(fields) < 8:
            raise Mp4DurationUnknown("a truncated mvhd box")
        timescale, duration = struct.unpack(">II", fields)
    if timescale == 0:
        raise Mp4DurationUnknown("mvhd has a zero timescale")
    return duration / timescale


def duration_s(stream: BinaryIO) -> float:
    """The movie's duration in seconds; Mp4DurationUnknown when the file does not say."""
    stream.seek(0)
    for kind, payload_at, payload_size in _boxes(stream, None):
        if kind == b"moov":
            stream.seek(payload_at)  # walk the boxes inside moov
            for inner, inner_at, inner_size in _boxes(stream, payload_at + payload_size):
                if inner == b"mvhd":
                    stream.seek(inner_at)
                    return _mvhd_duration_s(stream.read(min(inner_size, 32)))
            raise Mp4DurationUnknown("moov has no mvhd box")
    raise Mp4DurationUnknown("no moov box")


def with_duration_s(data: bytes, seconds: float) -> bytes:
    """A copy of an MP4 whose `moov/mvhd` says it lasts `seconds` (in the box's own timescale);
    the tracks and the media are left as they are. The offline `local` provider serves its one
    built-in clip as long as asked this way, so the demo charges what was asked."""
    stream = io.BytesIO(data)
    for kind, payload_at, payload_size in _boxes(stream, None):
        if kind != b"moov":
            continue
        stream.seek(payload_at)
        for inner, inner_at, inner_size in _boxes(stream, payload_at + payload_size):
            if inner == b"mvhd":
                return _patched_mvhd(data, inner_at, inner_size, seconds)
        raise Mp4DurationUnknown("moov has no mvhd box")
    raise Mp4DurationUnknown("no moov box")


def _patched_mvhd(data: bytes, at: int, size: int, seconds: float) -> bytes:
    version = data[at]
    # version 1: 64-bit times then timescale and a 64-bit duration; version 0: all 32-bit
    scale_at, duration_format = (at + 20, ">Q") if version == 1 else (at + 12, ">I")
    if scale_at + 4 + struct.calcsize(duration_format) > at + size:
        raise Mp4DurationUnknown("a truncated mvhd box")
    (timescale,) = struct.unpack(">I", data[scale_at:scale_at + 4])
    if timescale == 0:
        raise Mp4DurationUnknown("mvhd has a zero timescale")
    duration = struct.pack(duration_format, round(seconds * timescale))
    return data[:scale_at + 4] + duration + data[scale_at + 4 + len(duration):]


def file_duration_s(path: Path) -> float:
    """`duration_s` of a file."""
    with Path(path).open("rb") as stream:
        return duration_s(stream)


def whole_seconds(duration: float) -> int:
    """A duration rounded up to a whole second (a 4.02 s clip is 5 s; float noise below a
    millisecond is not a second)."""
    return max(0, math.ceil(round(duration, 3)))
