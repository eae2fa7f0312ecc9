"""The web process entry point (gunicorn wsgi:app)."""

from app import create_app
from app.runtime_checks import prepare_process

app = create_app()
prepare_process(app, role="web")
