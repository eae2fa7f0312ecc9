"""Dramatiq actors. Importing this package declares every actor (see `app.queue.hub_actor`)."""

import app.tasks.payments  # noqa: F401
from app.tasks import ops  # noqa: F401
