"""Dramatiq actors. Importing this package declares every actor (see `app.queue.hub_actor`)."""

import app.tasks.ledger  # noqa: F401
import app.tasks.payments  # noqa: F401
from app.tasks import (
    accounts,  # noqa: F401
    generation,  # noqa: F401
    mail,  # noqa: F401
    ops,  # noqa: F401
    retention,  # noqa: F401
)
