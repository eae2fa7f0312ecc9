"""A web process reuses the API key and price it read lately for job requests
(HUB_KEY_PRICE_CACHE_S), and never serves a job on a stale one: changes made by another
process (the operator's CLI, the back office, another web process) take effect on the very
next request, because the job's open re-checks both where it places the hold (migration 010).

"Another process" is a second app: its own recent reads, the same database.
"""

from __future__ import annotations

import json

import openai
import pytest

from app import create_app
from app.models.api_keys import ApiKey
from app.models.jobs import Job
from app.models.users import User
from app.services import api_keys
from app.services.prices.catalog import model_spec
from app.services.prices.history import current_prices, set_price
from app.services.recent_reads import recent_reads
from tests.jobs.conftest import balance

MODEL = "gpt-4o-mini"


def _ask(hub: str, key: str, model: str = MODEL) -> openai.types.chat.ChatCompletion:
    client = openai.OpenAI(api_key=key, base_url=f"{hub}/v1", max_retries=0)
    return client.chat.completions.create(model=model, max_tokens=20,
                                          messages=[{"role": "user", "content": "hello"}])


@pytest.fixture
def key(app, funded_user) -> api_keys.NewKey:
    with app.app_context():
        return api_keys.create_key(funded_user, "reused")


@pytest.fixture
def elsewhere(settings):
    """Another process's app on the same database."""
    return create_app(settings)


def _served_once(app, hub: str, key: api_keys.NewKey) -> None:
    """One job request, after which this process holds the key's and the price's reads."""
    assert _ask(hub, key.plaintext).choices[0].message.content
    with app.app_context():
        assert recent_reads("api_keys").get(key.key.prefix) is not None
        assert recent_reads("prices").get(MODEL) is not None


def _nothing_changes(app, user, before_balance, before_jobs: int) -> None:
    assert balance(app, user) == before_balance
    with app.app_context():
        assert Job.select().count() == before_jobs


def test_a_key_revoked_elsewhere_is_refused_on_its_next_request(app, hub, upstream, funded_user,
                                                               key, elsewhere) -> None:
    _served_once(app, hub, key)
    with elsewhere.app_context():
        api_keys.revoke_key(funded_user, key.key.id)
    before_balance, before_jobs = balance(app, funded_user), 1
    with pytest.raises(openai.AuthenticationError) as info:
        _ask(hub, key.plaintext)
    assert "not valid or was revoked" in info.value.message
    _nothing_changes(app, funded_user, before_balance, before_jobs)


def test_an_owner_disabled_elsewhere_is_refused_on_the_next_request(app, hub, upstream,
                                                                   funded_user, key,
                                                                   elsewhere) -> None:
    _served_once(app, hub, key)
    with elsewhere.app_context():
        User.update(is_active=False).where(User.id == funded_user.id).execute()
    before_balance = balance(app, funded_user)
    with pytest.raises(openai.AuthenticationError) as info:
        _ask(hub, key.plaintext)
    assert "disabled" in info.value.message
    _nothing_changes(app, funded_user, before_balance, 1)


def test_a_model_limit_set_elsewhere_applies_to_the_next_request(app, hub, upstream, funded_user,
                                                                key, elsewhere) -> None:
    _served_once(app, hub, key)
    with elsewhere.app_context():  # as the back office edits it
        ApiKey.update(allowed_models=json.dumps(["local-echo"])).where(
            ApiKey.id == key.key.id).execute()
    with pytest.raises(openai.PermissionDeniedError) as info:
        _ask(hub, key.plaintext)
    assert "may not use the model 'gpt-4o-mini'" in info.value.message
    assert _ask(hub, key.plaintext, model="local-echo").choices[0].message.content  # still works


def test_a_price_set_elsewhere_holds_and_charges_the_next_job(app, hub, upstream, funded_user,
                                                             key, elsewhere) -> None:
    _served_once(app, hub, key)
    with elsewhere.app_context():
        old = current_prices([model_spec(MODEL)])[MODEL]
        new = set_price(model_spec(MODEL), output_per_mtok_credits=old.output_per_mtok_credits * 3,
                        reason="test: tripled", actor_id=None, actor_label="test")
    done = _ask(hub, key.plaintext)
    with app.app_context():
        job = Job.get_by_id(done.id.removeprefix("chatcmpl-"))
        assert job.price_id == new.id != old.price_id
        expected = -(-job.input_tokens * new.input_per_mtok_credits // 1_000_000) \
            - (-job.output_tokens * new.output_per_mtok_credits // 1_000_000)
        assert job.cost_credits == done.usage.model_extra["cost_credits"] == expected
        assert recent_reads("prices").get(MODEL).price_id == new.id  # read again, kept again
