"""The scheduler process: `python -m scripts.scheduler` (Procfile `scheduler`).

Leads (enqueues the periodic jobs) while it holds the Redis leader lock, stands by otherwise;
SIGTERM or SIGINT lets the lock go and exits. See docs/operations.md.
"""

from app import create_app
from app.scheduler import run_scheduler

if __name__ == "__main__":
    run_scheduler(create_app(component="scheduler"))
