"""The worker process entry point: `dramatiq workers` imports this module.

It builds the app (which installs the configured broker and declares every actor) and
refuses to start on pending migrations in production.
"""

import gc

from app import create_app
from app.runtime_checks import prepare_process

app = create_app(component="worker")
prepare_process(app, role="worker")
broker = app.extensions["hub"].broker
gc.freeze()  # as the web processes do (gunicorn.conf.py): full collections skip what is loaded
