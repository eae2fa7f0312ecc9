"""A fake OpenAI/Anthropic upstream for tests and benchmarks (see `server`)."""

from tests.fake_upstream.server import WORDS, FakeUpstream, Fault, RecordedRequest

__all__ = ["WORDS", "FakeUpstream", "Fault", "RecordedRequest"]
