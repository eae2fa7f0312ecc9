"""The smallest MP4 a player and a duration reader accept: ftyp, moov (mvhd only), mdat.

`mvhd` version 0 carries the movie's timescale (units per second) and duration (in those
units); that is the duration a reader of the downloaded file finds.
"""

from __future__ import annotations

import struct

TIMESCALE = 1000


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mvhd(duration_ms: int) -> bytes:
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    payload = (b"\x00\x00\x00\x00"  # version 0, flags
               + struct.pack(">IIII", 0, 0, TIMESCALE, duration_ms)  # created, modified
               + struct.pack(">IH", 0x00010000, 0x0100) + b"\x00" * 10  # rate, volume
               + matrix + b"\x00" * 24 + struct.pack(">I", 2))  # pre-defined, next track
    return _box(b"mvhd", payload)


def minimal_mp4(duration_s: float, payload_bytes: int = 1024) -> bytes:
    """An MP4 whose `moov/mvhd` says `duration_s`, with `payload_bytes` of media data."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    moov = _box(b"moov", _mvhd(round(duration_s * TIMESCALE)))
    return ftyp + moov + _box(b"mdat", bytes(payload_bytes))


def mp4_duration_s(data: bytes) -> float:
    """The duration `moov/mvhd` gives (versions 0 and 1), for the fake's own tests."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"moov":
            return _mvhd_duration(data[offset + 8:offset + size])
        offset += size
    raise ValueError("no moov box")


def _mvhd_duration(moov: bytes) -> float:
    size, kind = struct.unpack(">I4s", moov[:8])
    if kind != b"mvhd":
        raise ValueError("moov does not start with mvhd")
    version = moov[8]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", moov[28:40])
    else:
        timescale, duration = struct.unpack(">II", moov[20:28])
    return duration / timescale
