"""A hub API key's limits hold on the job path, atomically with the credit hold."""

from __future__ import annotations

import openai
import pytest

from app.models.api_keys import ApiKey
from app.services import api_keys


def _client(hub: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{hub}/v1", max_retries=0)


def test_allowed_models_and_spend_are_enforced_over_v1(app, hub, upstream, funded_user) -> None:
    with app.app_context():
        restricted = api_keys.create_key(funded_user, "only-local", allowed_models=["local-echo"])
    client = _client(hub, restricted.plaintext)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "x"}])
    assert "may not use the model 'gpt-4o-mini'" in info.value.message

    done = client.chat.completions.create(model="local-echo", max_tokens=20,
                                          messages=[{"role": "user", "content": "hello"}])
    assert done.choices[0].message.content
    with app.app_context():  # the hold was reserved on the key, the unused part given back
        key = ApiKey.get_by_id(restricted.key.id)
        assert key.spent_total_credits == done.usage.model_extra["cost_credits"] > 0
        assert key.last_used_at is not None


def test_a_credit_cap_refuses_the_hold_and_names_the_limit(app, hub, upstream,
                                                           funded_user) -> None:
    with app.app_context():
        capped = api_keys.create_key(funded_user, "capped", cap_total_credits=50)
    client = _client(hub, capped.plaintext)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=1000,
                                       messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 402
    assert "credit cap is reached" in info.value.message
    with app.app_context():
        assert ApiKey.get_by_id(capped.key.id).spent_total_credits == 0  # nothing reserved
