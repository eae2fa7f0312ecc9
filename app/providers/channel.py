"""A channel as the router uses it: its configuration and the adapters built for it."""

from __future__ import annotations

from dataclasses import dataclass

from app.config.channels import ChannelConfig
from app.providers.base import ChatProvider, VideoProvider
from app.providers.embedding import EmbeddingProvider


@dataclass
class Channel:
    config: ChannelConfig
    chat: ChatProvider | None  # None: the channel serves no chat model (google: Veo only)
    video: VideoProvider | None
    embeddings: EmbeddingProvider | None = None

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def provider(self) -> str:
        return self.config.provider

    @property
    def weight(self) -> float:
        return self.config.weight
