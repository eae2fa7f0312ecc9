"""Video prices: a rate for seconds with audio beside the per-second rate (unset: the
per-second rate), in the price history, `flask prices`, `/api/models` and the quote; and the
catalog's video choices checked when it loads."""

from __future__ import annotations

import json

import pytest

from app.models.audit import AuditLogEntry
from app.providers.catalog import InvalidVideoChoices, load_builtin_models
from app.providers.types import Price
from app.services.prices.catalog import model_spec
from app.services.prices.history import price_version, set_price
from app.services.prices.pricing import video_cost, video_quote


def test_the_audio_rate_is_the_per_second_rate_unless_set() -> None:
    assert Price(per_second_credits=100).per_second_rate(audio=True) == 100
    with_audio = Price(per_second_credits=100, per_second_audio_credits=150)
    assert [with_audio.per_second_rate(a) for a in (True, False, None)] == [150, 100, 100]


def test_a_video_with_audio_is_held_and_charged_at_the_audio_rate(make_hub) -> None:
    make_hub()
    with_audio = video_quote("local-video", 8)  # audio is local-video's default
    without = video_quote("local-video", 8, audio=False)
    assert (with_audio.hold_credits, with_audio.audio) == (1_200, True)
    assert (without.hold_credits, without.audio) == (800, False)
    assert video_cost(with_audio.price_id, 3, audio=True) == 450
    assert video_cost(with_audio.price_id, 3, audio=False) == 300
    assert video_quote("sora-2", 4).hold_credits == 40_000  # no audio option: one rate


def test_set_price_adds_an_audio_rate_in_a_new_audited_version(make_hub) -> None:
    make_hub()
    old = video_quote("sora-2", 4)

    row = set_price(model_spec("sora-2"), per_second_audio_credits=15_000, reason="audio",
                    actor_id=None, actor_label="test")

    assert (price_version(row.id).per_second_credits,
            price_version(row.id).per_second_audio_credits) == (10_000, 15_000)
    assert price_version(old.price_id).per_second_audio_credits is None  # unchanged
    assert video_cost(old.price_id, 4, audio=True) == 40_000
    assert video_cost(row.id, 4, audio=True) == 60_000
    [entry] = AuditLogEntry.select().where(AuditLogEntry.action == "price.set")
    assert json.loads(entry.before)["per_second_audio_credits"] is None
    assert json.loads(entry.after)["per_second_audio_credits"] == 15_000


def test_the_cli_sets_lists_and_shows_the_audio_rate(make_hub) -> None:
    hub = make_hub()
    runner = hub.app.test_cli_runner()
    result = runner.invoke(args=["prices", "set", "sora-2", "--per-second-audio", "12000",
                                 "--reason", "audio priced apart"])
    assert result.exit_code == 0, result.output
    assert "10000/s, with audio 12000/s" in result.output
    assert "per_second_audio=12000" in runner.invoke(args=["prices", "history", "sora-2"]).output
    listing = runner.invoke(args=["prices", "list"]).output
    assert "audio/s" in listing and "=second" in listing  # sora-2-pro: unset
    items = {m["id"]: m for m in hub.app.test_client().get("/api/models").get_json()["items"]}
    assert items["sora-2"]["price"] == {"per_second_credits": 10_000,
                                        "per_second_audio_credits": 12_000}


@pytest.mark.parametrize(("choices", "message"), [
    ({"video_options": ["subtitles"]}, "unknown video option 'subtitles'"),
    ({"video_aspect_ratios": ["wide"]}, "video_aspect_ratios has 'wide'"),
    ({"video_resolutions": ["HD"]}, "video_resolutions has 'HD'"),
    ({"video_sizes": ["1280*720"]}, "video_sizes has '1280\\*720'"),
    ({"video_seconds": [0, 4]}, "video_seconds must be whole seconds"),
])
def test_a_bad_video_choice_in_the_catalog_is_an_error_naming_it(tmp_path, choices,
                                                                  message) -> None:
    entry = {"id": "veo-x", "provider": "google", "kind": "video", "label": "Veo X",
             "capabilities": ["video"], "price": {"per_second_credits": 1},
             "video_seconds": [4], **choices}
    path = tmp_path / "models.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(InvalidVideoChoices, match=f"'veo-x': {message}"):
        load_builtin_models(path)


def test_the_catalog_loads_video_choices_as_tuples(tmp_path) -> None:
    entry = {"id": "veo-x", "provider": "google", "kind": "video", "label": "Veo X",
             "capabilities": ["video"],
             "price": {"per_second_credits": 20_000, "per_second_audio_credits": 40_000},
             "video_seconds": [4, 6, 8], "video_aspect_ratios": ["16:9", "9:16"],
             "video_resolutions": ["720p", "1080p"],
             "video_options": ["negative_prompt", "audio", "first_frame"]}
    path = tmp_path / "models.json"
    path.write_text(json.dumps([entry]))
    [spec] = load_builtin_models(path)
    assert (spec.video_aspect_ratios, spec.video_resolutions, spec.video_options) == (
        ("16:9", "9:16"), ("720p", "1080p"), ("negative_prompt", "audio", "first_frame"))
    assert spec.default_price.per_second_rate(audio=True) == 40_000
