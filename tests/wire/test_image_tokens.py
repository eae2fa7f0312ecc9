"""What an image and the rest of a rich prompt count for: each vendor's published image
formula from an inline image's real header, the upper bound when the size is unknown, and
tool calls, results and reasoning counted as prompt."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from app.chat.request import (
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)
from app.providers.image_tokens import image_size, image_tokens
from app.providers.tokens import count_messages, count_tools

UPPER_BOUND = 1_600


def png(width: int, height: int) -> bytes:
    """A real (black, greyscale) PNG of that size."""
    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data \
            + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + block(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                 0, 0, 0))
            + block(b"IDAT", zlib.compress(rows)) + block(b"IEND", b""))


def jpeg(width: int, height: int) -> bytes:
    """A JPEG's header as far as its size (a JFIF segment, then the frame header)."""
    jfif = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + jfif + frame + b"\xff\xd9"


def inline(data: bytes, media_type: str, detail: str | None = None) -> ImagePart:
    return ImagePart(f"data:{media_type};base64,{base64.b64encode(data).decode()}", detail)


def tokens(part: ImagePart, provider: str = "openai", model: str = "gpt-4o") -> int:
    return image_tokens(part, provider=provider, model=model, upper_bound=UPPER_BOUND)


def test_the_size_is_read_from_a_real_png_and_jpeg_header() -> None:
    assert image_size(inline(png(1024, 768), "image/png")) == (1024, 768)
    assert image_size(inline(jpeg(4000, 3000), "image/jpeg")) == (4000, 3000)


@pytest.mark.parametrize(("size", "detail", "expected"), [
    ((1024, 1024), "high", 85 + 170 * 4),  # 768×768: 2×2 tiles
    ((1024, 1024), None, 85 + 170 * 4),
    ((1024, 1024), "low", 85),
    ((4096, 2048), "high", 85 + 170 * 6),  # 2048×1024 → 1536×768: 3×2 tiles
    ((512, 512), "auto", 85 + 170),  # not scaled up: one tile
])
def test_openais_tile_formula(size, detail, expected) -> None:
    assert tokens(inline(png(*size), "image/png", detail)) == expected
    assert tokens(inline(jpeg(*size), "image/jpeg", detail)) == expected


def test_gpt_4o_mini_has_its_own_base_and_tile() -> None:
    assert tokens(inline(png(1024, 1024), "image/png", "high"), model="gpt-4o-mini") == \
        2833 + 5667 * 4
    assert tokens(inline(png(1024, 1024), "image/png", "low"), model="gpt-4o-mini") == 2833


@pytest.mark.parametrize(("size", "expected"), [
    ((1000, 1000), 1334),  # 1,000,000 / 750, rounded up
    ((200, 200), 54),
    ((3136, 1568), 1533),  # to about 1.15 megapixels: 1516×758 = 1,149,128 / 750
])
def test_anthropics_pixel_formula(size, expected) -> None:
    assert tokens(inline(jpeg(*size), "image/jpeg"), provider="anthropic",
                  model="claude-sonnet-4-5") == expected


@pytest.mark.parametrize("part", [
    ImagePart("https://example.com/cat.png"),
    ImagePart("data:image/png;base64,!!!not base64!!!"),
    ImagePart("data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()),
    ImagePart("data:image/png;base64,"),
])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_image_of_unknown_size_counts_its_upper_bound(part, provider) -> None:
    assert tokens(part, provider=provider) == UPPER_BOUND


def test_tool_calls_results_and_reasoning_count_as_prompt() -> None:
    question = Message("user", (TextPart("Weather in Oslo?"),))
    plain = count_messages("o200k_base", [question], image_tokens=0)
    call = Message("assistant", (ReasoningPart("The user wants the weather."),
                                 ToolCallPart("call_1", "weather", '{"city":"Oslo"}')))
    result = Message("tool", (ToolResultPart("call_1", (TextPart("-3C, snow"),)),))
    with_call = count_messages("o200k_base", [question, call], image_tokens=0)
    with_result = count_messages("o200k_base", [question, call, result], image_tokens=0)
    assert plain < with_call < with_result
    without_reasoning = count_messages(
        "o200k_base", [question, Message("assistant", call.content[1:])], image_tokens=0)
    assert without_reasoning < with_call


def test_images_count_by_the_function_given() -> None:
    image = inline(png(1024, 1024), "image/png", "high")
    messages = [Message("user", (TextPart("What is it?"), image)),
                Message("tool", (ToolResultPart("c", (image,)),))]
    text_only = count_messages("o200k_base", [Message("user", (TextPart("What is it?"),)),
                                              Message("tool", (ToolResultPart("c", ()),))],
                               image_tokens=0)
    assert count_messages("o200k_base", messages, image_tokens=tokens) == text_only + 2 * 765


def test_tool_definitions_count_their_name_description_and_schema() -> None:
    small = Tool("clock", parameters={"type": "object"})
    large = Tool("weather", "The weather in a city, today or later.", {
        "type": "object", "properties": {"city": {"type": "string"},
                                         "days": {"type": "integer"}}})
    assert 0 < count_tools("o200k_base", [small]) < count_tools("o200k_base", [large])
    assert count_tools("o200k_base", [small, large]) == \
        count_tools("o200k_base", [small]) + count_tools("o200k_base", [large])
    assert count_tools("claude_estimate", [large]) > count_tools("o200k_base", [large]) > 0
