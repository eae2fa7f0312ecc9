"""Fixtures of the fault suite (`pytest -m faults`): see tests/faults/helpers.py and
docs/guarantees.md, "The fault suite"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_upstream import FakeUpstream
from tests.faults.helpers import UPSTREAM, FaultHub, fault_hub, fault_settings


@pytest.fixture(scope="session")
def faults_upstream_server() -> Iterator[FakeUpstream]:
    UPSTREAM.start()
    yield UPSTREAM
    UPSTREAM.stop()


@pytest.fixture
def upstream(faults_upstream_server) -> Iterator[FakeUpstream]:
    """The suite's fake upstream, reset to 5 fast chunks and no faults for each test."""
    faults_upstream_server.reset()
    faults_upstream_server.chunk_count, faults_upstream_server.chunk_delay_s = 5, 0.0
    faults_upstream_server.first_chunk_delay_s = 0.0
    yield faults_upstream_server
    faults_upstream_server._release.set()  # a hang still waiting ends now
    faults_upstream_server.reset()
    faults_upstream_server._release.clear()


@pytest.fixture(scope="session")
def shared_hub(migrated_database, faults_upstream_server, tmp_path_factory) -> Iterator[FaultHub]:
    """One hub for the scenarios that need no server of their own (tables are truncated
    after each test by the `app` fixture, which they request): gunicorn and one `dramatiq
    workers` of 2 threads, warmed up. A scenario may kill either worker process: gunicorn's
    master replaces its own; a scenario that kills dramatiq's starts it again."""
    faults_upstream_server.reset()
    with fault_hub(fault_settings(HUB_JOB_RESEND_AFTER_S=2), tmp_path_factory.mktemp("hub"),
                   worker_threads=2) as hub:
        hub.warm_up()
        yield hub
