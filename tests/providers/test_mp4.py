"""The MP4 duration reader on real files: the built-in clip, and files built box by box the
way encoders write them (mvhd version 0 and 1, moov after a large mdat, 64-bit box sizes)."""

from __future__ import annotations

import io
import struct

import pytest

from app.jobs.runs.video import delivered_seconds
from app.providers.local import VIDEO_ASSET
from app.providers.mp4 import (
    Mp4DurationUnknown,
    duration_s,
    file_duration_s,
    whole_seconds,
    with_duration_s,
)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(timescale: int, duration: int, version: int = 0) -> bytes:
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + b"\x00" * 80)


FTYP = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")


def mp4(*boxes: bytes) -> io.BytesIO:
    return io.BytesIO(FTYP + b"".join(boxes))


def test_the_built_in_clip_lasts_one_second() -> None:
    assert file_duration_s(VIDEO_ASSET) == 1.0


def test_version_0_and_version_1_headers() -> None:
    assert duration_s(mp4(box(b"moov", mvhd(600, 4_800)))) == 8.0
    assert duration_s(mp4(box(b"moov", mvhd(90_000, 7_200_000_000, version=1)))) == 80_000.0


def test_a_duration_is_written_into_mvhd_and_nothing_else_changes() -> None:
    for version in (0, 1):
        moov = box(b"moov", box(b"udta", b"meta") + mvhd(600, 600, version) + box(b"trak", b"x"))
        original = mp4(box(b"mdat", b"\x00" * 100), moov).getvalue()
        patched = with_duration_s(original, 12)
        assert duration_s(io.BytesIO(patched)) == 12.0
        assert len(patched) == len(original)
        assert sum(a != b for a, b in zip(patched, original, strict=True)) <= 2
    clip = with_duration_s(VIDEO_ASSET.read_bytes(), 8)
    assert duration_s(io.BytesIO(clip)) == 8.0
    with pytest.raises(Mp4DurationUnknown):
        with_duration_s(FTYP + box(b"mdat", b""), 4)


def test_moov_after_the_media_and_behind_other_boxes() -> None:
    media = box(b"mdat", b"\x00" * 5_000)
    moov = box(b"moov", box(b"udta", b"meta") + mvhd(1_000, 5_040) + box(b"trak", b"x" * 40))
    assert duration_s(mp4(box(b"free", b""), media, moov)) == 5.04


def test_a_64_bit_box_size_is_followed() -> None:
    payload = b"\x00" * 100
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + len(payload)) + payload
    assert duration_s(mp4(large, box(b"moov", mvhd(25, 100)))) == 4.0


@pytest.mark.parametrize("data", [
    b"",
    FTYP,  # no moov
    FTYP + b"\x00" * 1_000,  # the fake upstream's file: a box running to the end, no moov
    FTYP + box(b"moov", box(b"trak", b"")),  # moov without mvhd
    FTYP + box(b"moov", mvhd(0, 100)),  # a zero timescale
    FTYP + box(b"moov", mvhd(600, 4_800))[:30],  # cut short
    FTYP + struct.pack(">I4s", 4, b"moov"),  # a box smaller than its header
], ids=["empty", "no-moov", "zeros", "no-mvhd", "zero-timescale", "truncated", "bad-size"])
def test_a_file_that_does_not_say_is_unknown(data: bytes) -> None:
    with pytest.raises(Mp4DurationUnknown):
        duration_s(io.BytesIO(data))


def test_durations_round_up_to_whole_seconds() -> None:
    assert [whole_seconds(s) for s in (0.0, 0.2, 4.0, 4.0000001, 4.02, 7.999)] == \
        [0, 1, 4, 4, 5, 8]


def test_delivered_seconds_never_exceed_the_request(tmp_path) -> None:
    longer = tmp_path / "long.mp4"
    longer.write_bytes(mp4(box(b"moov", mvhd(1_000, 8_300))).getvalue())
    unknown = tmp_path / "unknown.mp4"
    unknown.write_bytes(FTYP)
    assert delivered_seconds(longer, 12) == 9
    assert delivered_seconds(longer, 8) == 8  # never more than held
    assert delivered_seconds(VIDEO_ASSET, 4) == 1
    assert delivered_seconds(unknown, 4) == 4  # unreadable: the requested seconds
    assert delivered_seconds(tmp_path / "missing.mp4", 4) == 4
