"""A fake of the Gemini API's long-running video endpoints (Veo), for the `google-genai` SDK."""

from tests.fake_gemini.mp4 import minimal_mp4, mp4_duration_s
from tests.fake_gemini.server import FakeGemini, FakeOperation, RecordedRequest

__all__ = ["FakeGemini", "FakeOperation", "RecordedRequest", "minimal_mp4", "mp4_duration_s"]
