"""The capability vocabulary of the catalog: what a model can do, by name.

One fixed list, so a typo in `app/data/models.json` or in a channel's extra model is an error
when the catalog loads rather than a capability silently never offered. The chat path asks
`ModelSpec.supports(name)` before it sends a request that needs one.
"""

from __future__ import annotations

from collections.abc import Iterable

CHAT = "chat"  # text in, text out
VISION = "vision"  # images in the prompt
TOOLS = "tools"  # function / tool calling
STRUCTURED_OUTPUT = "structured_output"  # replies held to a JSON schema
REASONING = "reasoning"  # reasoning / extended thinking tokens
EMBEDDINGS = "embeddings"
VIDEO = "video"  # makes videos
PROMPT_CACHING = "prompt_caching"  # the provider caches prompt prefixes (cheaper cached reads)
LOGPROBS = "logprobs"  # returns the log probabilities of its output tokens

CAPABILITIES: tuple[str, ...] = (CHAT, VISION, TOOLS, STRUCTURED_OUTPUT, REASONING, EMBEDDINGS,
                                 VIDEO, PROMPT_CACHING, LOGPROBS)


class UnknownCapability(ValueError):
    """A model names a capability outside `CAPABILITIES`."""


def check_capabilities(model_id: str, names: Iterable[str]) -> tuple[str, ...]:
    """`names` as a tuple; UnknownCapability naming the model and the first unknown name."""
    names = tuple(names)
    for name in names:
        if name not in CAPABILITIES:
            raise UnknownCapability(f"model {model_id!r}: unknown capability {name!r} "
                                    f"(known: {', '.join(CAPABILITIES)})")
    return names
