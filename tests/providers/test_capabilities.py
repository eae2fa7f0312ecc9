"""The capability vocabulary: every catalog model names only known capabilities, truthfully,
and `/api/models` and `/v1/models` show them with the model's limits."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from app.config.channels import ChannelConfig
from app.providers import capabilities as caps
from app.providers.catalog import BUILTIN_MODELS, Catalog, builtin_spec, load_builtin_models
from app.services import api_keys
from tests.factories import create_user


def test_every_builtin_model_names_known_capabilities() -> None:
    for spec in BUILTIN_MODELS:
        assert set(spec.capabilities) <= set(caps.CAPABILITIES), spec.id
        assert spec.capabilities, spec.id
        assert spec.supports(caps.VIDEO) == (spec.kind == "video"), spec.id


@pytest.mark.parametrize(("model_id", "expected"), [
    ("gpt-4o", {"chat", "vision", "tools", "structured_output", "prompt_caching",
                "logprobs"}),
    ("gpt-4.1-mini", {"chat", "vision", "tools", "structured_output", "prompt_caching",
                      "logprobs"}),
    ("gpt-5", {"chat", "vision", "tools", "structured_output", "reasoning", "prompt_caching"}),
    ("claude-opus-4-5", {"chat", "vision", "tools", "reasoning", "prompt_caching"}),
    ("local-echo", {"chat"}),  # an echo: no images read, no tools called
    ("local-video", {"video"}),
])
def test_models_support_what_their_vendor_offers(model_id, expected) -> None:
    spec = builtin_spec(model_id)
    assert set(spec.capabilities) == expected
    assert spec.supports(caps.CHAT) == ("chat" in expected)
    assert not spec.supports(caps.EMBEDDINGS)


def test_an_unknown_capability_in_the_catalog_file_is_an_error_naming_it(tmp_path) -> None:
    entry = {"id": "gpt-x", "provider": "openai", "kind": "chat", "label": "X",
             "capabilities": ["chat", "telepathy"], "price": {"input_per_mtok_credits": 1}}
    path = tmp_path / "models.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(caps.UnknownCapability, match="'gpt-x': unknown capability 'telepathy'"):
        load_builtin_models(path)


def test_an_unknown_capability_of_a_channels_extra_model_is_an_error_naming_it() -> None:
    channel = ChannelConfig.model_validate({
        "id": "vllm", "provider": "openai", "models": [
            {"id": "llama", "input_per_mtok_credits": 1, "output_per_mtok_credits": 1,
             "capabilities": ["chat", "tool_use"]}]})
    with pytest.raises(caps.UnknownCapability, match="'llama': unknown capability 'tool_use'"):
        Catalog([channel])


def test_v1_models_keeps_openais_shape_and_adds_capabilities(make_hub) -> None:
    hub = make_hub()
    key = api_keys.create_key(create_user(), "models").plaintext
    client = openai.OpenAI(api_key=key, base_url="http://hub.test/v1", max_retries=0,
                           http_client=httpx.Client(transport=httpx.WSGITransport(app=hub.app)))

    models = {m.id: m for m in client.models.list()}

    gpt5 = models["gpt-5"]
    assert (gpt5.object, gpt5.owned_by) == ("model", "openai")
    extra = gpt5.model_extra
    assert "reasoning" in extra["capabilities"] and "tools" in extra["capabilities"]
    assert (extra["context_window"], extra["max_output_tokens"]) == (400_000, 128_000)
    assert extra["price"]["cached_input_per_mtok_credits"] == 12_500
    assert models["local-echo"].model_extra["capabilities"] == ["chat"]
    assert "sora-2" not in models  # chat models only
