"""Dramatiq actors. Importing this package declares every actor (see `app.queue.hub_actor`)."""

from app.tasks import (
    ops,  # noqa: F401
    payments,  # noqa: F401
)
