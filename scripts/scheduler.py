"""The scheduler process: `python -m scripts.scheduler` (Procfile `scheduler`)."""

from app import create_app
from app.scheduler import run_scheduler

if __name__ == "__main__":
    run_scheduler(create_app())
