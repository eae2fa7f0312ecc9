"""`app.dispatch.send`: the port through which services enqueue work by actor name."""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.errors import ActorNotFound

from app import create_app, dispatch
from tests.conftest import make_settings


@pytest.fixture
def stub_broker(migrated_database) -> dramatiq.Broker:
    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    broker = app.extensions["hub"].broker
    assert type(broker).__name__ == "StubBroker"
    yield broker
    broker.flush_all()


def test_send_enqueues_a_message_for_the_named_actor(stub_broker) -> None:
    message = dispatch.send("ops.worker_check", "stream-1", 1.5)
    assert message.actor_name == "ops.worker_check"
    assert message.args == ("stream-1", 1.5)
    assert stub_broker.queues[message.queue_name].qsize() == 1


def test_an_unknown_actor_name_is_an_error(stub_broker) -> None:
    with pytest.raises(ActorNotFound):
        dispatch.send("ops.no_such_actor")
