"""GET /api/models, the `flask prices` commands, and provider configuration."""

from __future__ import annotations

import json

import pytest

from app.config import ConfigError, configured_channels, load_settings
from tests.conftest import make_settings


def test_without_keys_only_the_local_models_are_offered(make_hub) -> None:
    hub = make_hub(OPENAI_API_KEY="", ANTHROPIC_API_KEY="")
    response = hub.app.test_client().get("/api/models")
    assert response.status_code == 200
    assert response.get_json() == {"items": [
        {"id": "local-echo", "provider": "local", "kind": "chat",
         "label": "Local demo model (offline, built in: echoes your prompt, not an AI)",
         "price": {"input_per_mtok_credits": 1_000, "output_per_mtok_credits": 2_000,
                   "cached_input_per_mtok_credits": 1_000, "cache_write_per_mtok_credits": 1_000},
         "context_window": 8192, "max_output_tokens": 4096, "capabilities": ["chat"]},
        {"id": "local-video", "provider": "local", "kind": "video",
         "label": "Local demo video (offline, built in: a fixed test clip, not an AI)",
         "price": {"per_second_credits": 100, "per_second_audio_credits": 150},
         "context_window": None, "max_output_tokens": None, "capabilities": ["video"],
         "video_seconds": [4, 8, 12], "video_sizes": ["720x1280", "1280x720"],
         "video_aspect_ratios": [], "video_resolutions": [],
         "video_options": ["negative_prompt", "audio", "first_frame"]},
        {"id": "local-embedding", "provider": "local", "kind": "embedding",
         "label": "Local demo embeddings (offline, built in: deterministic vectors, not an AI)",
         "price": {"input_per_mtok_credits": 1_000},
         "context_window": 8191, "max_output_tokens": None, "capabilities": ["embeddings"]}]}


def test_configured_providers_add_their_models(make_hub) -> None:
    client = make_hub().app.test_client()
    items = {m["id"]: m for m in client.get("/api/models").get_json()["items"]}
    assert {"gpt-4o", "gpt-5", "claude-sonnet-4-5", "sora-2", "sora-2-pro",
            "local-echo"} <= set(items)
    assert items["claude-sonnet-4-5"]["price"] == {
        "input_per_mtok_credits": 300_000, "output_per_mtok_credits": 1_500_000,
        "cached_input_per_mtok_credits": 30_000, "cache_write_per_mtok_credits": 375_000}
    assert items["gpt-4o"]["price"] == {  # OpenAI: half price cached, no cache-write premium
        "input_per_mtok_credits": 250_000, "output_per_mtok_credits": 1_000_000,
        "cached_input_per_mtok_credits": 125_000, "cache_write_per_mtok_credits": 250_000}
    assert items["gpt-5"]["capabilities"] == ["chat", "vision", "tools", "structured_output",
                                              "reasoning", "prompt_caching"]
    assert items["claude-sonnet-4-5"]["capabilities"] == ["chat", "vision", "tools",
                                                          "reasoning", "prompt_caching"]
    # no audio rate of its own: a second with audio costs the per-second rate
    assert items["sora-2"]["price"] == {"per_second_credits": 10_000,
                                        "per_second_audio_credits": 10_000}
    assert items["sora-2"]["video_options"] == ["first_frame"]
    videos = client.get("/api/models?kind=video").get_json()["items"]
    assert {m["kind"] for m in videos} == {"video"}


def test_a_bad_kind_is_refused_naming_the_field(make_hub) -> None:
    response = make_hub().app.test_client().get("/api/models?kind=audio")
    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith("kind: ")


def test_the_route_is_in_the_openapi_document(make_hub) -> None:
    spec = make_hub().app.test_client().get("/api/openapi.json").get_json()
    assert "/api/models" in spec["paths"]


def test_an_operator_changes_a_price_from_the_cli(make_hub) -> None:
    hub = make_hub()
    runner = hub.app.test_cli_runner()
    result = runner.invoke(args=["prices", "set", "gpt-4o", "--input-per-mtok", "300000",
                                 "--reason", "new list price"])
    assert result.exit_code == 0, result.output
    assert "gpt-4o: version 2" in result.output
    items = {m["id"]: m for m in hub.app.test_client().get("/api/models").get_json()["items"]}
    assert items["gpt-4o"]["price"] == {"input_per_mtok_credits": 300_000,
                                        "output_per_mtok_credits": 1_000_000,
                                        "cached_input_per_mtok_credits": 125_000,
                                        "cache_write_per_mtok_credits": 300_000}
    listing = runner.invoke(args=["prices", "list", "--all"])
    assert "gpt-4o" in listing.output and "300000" in listing.output
    history = runner.invoke(args=["prices", "history", "gpt-4o"])
    assert "v1" in history.output and "reason='new list price'" in history.output


@pytest.mark.parametrize("args", [["prices", "set", "gpt-4o", "--reason", "nothing"],
                                  ["prices", "set", "gpt-9", "--per-second", "1",
                                   "--reason", "x"],
                                  ["prices", "set", "gpt-4o", "--input-per-mtok", "-1",
                                   "--reason", "x"]])
def test_the_cli_refuses_bad_input(make_hub, args) -> None:
    result = make_hub().app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2


def test_channels_come_from_json_with_weights_and_extra_models(make_hub, monkeypatch) -> None:
    channels = [{"id": "vllm", "provider": "openai", "api_key": "none",
                 "base_url": "http://127.0.0.1:8000/v1", "weight": 3,
                 "models": [{"id": "llama-3.1-8b", "label": "Llama 3.1 8B (vLLM)",
                             "input_per_mtok_credits": 500, "output_per_mtok_credits": 800}]}]
    monkeypatch.setenv("HUB_PROVIDER_CHANNELS", json.dumps(channels))
    settings = load_settings(OPENAI_API_KEY="", ANTHROPIC_API_KEY="", HUB_LOCAL_PROVIDER=False)
    (channel,) = configured_channels(settings)
    assert (channel.id, channel.weight, channel.model_ids) == ("vllm", 3.0, ("llama-3.1-8b",))

    hub = make_hub(HUB_PROVIDER_CHANNELS=channels, OPENAI_API_KEY="", ANTHROPIC_API_KEY="")
    items = hub.app.test_client().get("/api/models").get_json()["items"]
    assert [m["id"] for m in items] == ["local-echo", "local-video", "local-embedding",
                                        "llama-3.1-8b"]
    assert items[-1]["price"] == {"input_per_mtok_credits": 500, "output_per_mtok_credits": 800,
                                  "cached_input_per_mtok_credits": 500,
                                  "cache_write_per_mtok_credits": 500}


def test_a_channel_without_a_key_is_disabled() -> None:
    settings = make_settings(OPENAI_API_KEY="", ANTHROPIC_API_KEY="sk-a",
                             HUB_PROVIDER_CHANNELS=[{"id": "openai-2", "provider": "openai"}])
    assert [c.id for c in configured_channels(settings)] == ["anthropic", "local"]


def test_the_local_provider_can_be_turned_off() -> None:
    settings = make_settings(OPENAI_API_KEY="sk-o", ANTHROPIC_API_KEY="",
                             HUB_LOCAL_PROVIDER=False, HUB_OPENAI_ORGANIZATION="org-1")
    (channel,) = configured_channels(settings)
    assert (channel.id, channel.organization) == ("openai", "org-1")


@pytest.mark.parametrize("value", ['[{"id": "x", "provider": "openai", "weight": 0}]',
                                   '[{"id": "x", "provider": "cohere"}]', "not json"])
def test_malformed_channels_stop_the_start_naming_the_variable(value, monkeypatch) -> None:
    monkeypatch.setenv("HUB_PROVIDER_CHANNELS", value)
    with pytest.raises(ConfigError, match="^HUB_PROVIDER_CHANNELS"):
        load_settings()
