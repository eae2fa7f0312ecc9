"""What an image in a prompt costs in tokens, by each vendor's published formula.

OpenAI (GPT-4o family, `detail` high or auto): the image is scaled to fit 2048×2048, then its
shorter side to 768; each 512-pixel tile costs `tile` tokens plus a `base` once (`low`:
`base` only). Anthropic: an image is scaled to fit 1568 pixels on its longer side and
about 1.15 megapixels, then costs width × height / 750 tokens.

The size is known when the image is inline (a `data:` URL: its header is read, nothing
decoded); an image by URL is not fetched, so it counts at the model's documented upper bound
(`ModelSpec.image_tokens`), as does one whose header cannot be read.
"""

from __future__ import annotations

import base64
import binascii
import io
import math

import imagesize

from app.chat.request import ImagePart

# (base, per tile) for OpenAI models whose tiles cost more than GPT-4o's 85 + 170 each.
OPENAI_TILE_TOKENS = {"gpt-4o-mini": (2833, 5667)}
DEFAULT_TILE_TOKENS = (85, 170)
ANTHROPIC_MAX_EDGE = 1568
ANTHROPIC_MAX_PIXELS = 1_150_000
HEADER_BYTES = 64 * 1024  # enough for every format's dimensions, even behind JPEG metadata


def image_size(part: ImagePart) -> tuple[int, int] | None:
    """(width, height) of an inline image, from its header; None if not inline or unreadable."""
    if not part.url.startswith("data:"):
        return None
    _, _, payload = part.url.partition(",")
    try:
        head = base64.b64decode(payload[: HEADER_BYTES * 4 // 3 // 4 * 4], validate=False)
        width, height = imagesize.get(io.BytesIO(head))
    except (binascii.Error, ValueError, OSError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def openai_image_tokens(model: str, width: int, height: int, detail: str | None) -> int:
    base, tile = OPENAI_TILE_TOKENS.get(model, DEFAULT_TILE_TOKENS)
    if detail == "low":
        return base
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    width, height = width * scale, height * scale
    return base + tile * math.ceil(width / 512) * math.ceil(height / 512)


def anthropic_image_tokens(width: int, height: int) -> int:
    scale = min(1.0, ANTHROPIC_MAX_EDGE / max(width, height),
                math.sqrt(ANTHROPIC_MAX_PIXELS / (width * height)))
    return math.ceil(int(width * scale) * int(height * scale) / 750)


def image_tokens(part: ImagePart, *, provider: str, model: str, upper_bound: int) -> int:
    """The image's tokens for `model` of `provider`; `upper_bound` when its size is unknown."""
    size = image_size(part)
    if size is None:
        return upper_bound
    if provider == "anthropic":
        return anthropic_image_tokens(*size)
    if provider == "openai":
        return openai_image_tokens(model, *size, part.detail)
    return upper_bound
