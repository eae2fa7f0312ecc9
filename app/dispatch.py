"""The port through which domain code starts background work: send a message to an actor by name.

Services name the work they want done (`send("generation.run_chat_job", job_id)`) instead of
importing the actor, so the task modules, which import the services, never form a cycle with
them. `app.queue.install_broker` declares every actor of `app.tasks` on the installed broker;
an unknown name is a programming error and raises `dramatiq.errors.ActorNotFound`.
"""

from __future__ import annotations

from typing import Any

import dramatiq


def send(actor_name: str, *args: Any, **kwargs: Any) -> dramatiq.Message:
    """Enqueue one message for `actor_name` on the installed broker and return it."""
    return dramatiq.get_broker().get_actor(actor_name).send(*args, **kwargs)
