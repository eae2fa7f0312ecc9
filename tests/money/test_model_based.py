"""Model-based tests of the ledger and the job lifecycle (hypothesis stateful testing).

One state machine (`tests.money.machine`) drives random interleavings of every way credits
move: purchases, debits (whole or partial), admin adjustments, promo redemptions, holds
(placed, settled under, at or over their amount, released, expired), and jobs through the job
core's own services (opened with or without an API key with caps, claimed, delivering output,
heartbeats, cancelled while queued or running, finished in every ending of the billing policy,
requeued or failed by the reaper after their lease ran out, settled again). After every step
it compares the database with the in-memory model (`tests.money.model`) and runs the ledger
checker. Scripted sequences (`tests.money.scenarios`) walk each lifecycle path through the
same steps and checks, so every path is covered whatever the random budget draws.

Everything runs on PostgreSQL (the PL/pgSQL functions of migrations 003 and 007–010) and on
SQLite (their Python twins), so the two are held to the same rules.

Deterministic and bounded: HUB_MODEL_EXAMPLES (default 50) sequences of up to HUB_MODEL_STEPS
(default 30) steps, derandomized; HUB_MODEL_RANDOM=1 explores new sequences on each run (a
failure then prints the `@reproduce_failure` blob to replay it). Run them alone: `-m model`.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test

from tests.money import scenarios
from tests.money.machine import LedgerAndJobs

pytestmark = pytest.mark.model

EXAMPLES = int(os.environ.get("HUB_MODEL_EXAMPLES", "50"))
STEPS = int(os.environ.get("HUB_MODEL_STEPS", "30"))
TIMEOUT_S = max(120, EXAMPLES * STEPS // 5)  # ~40 ms a step here; room for a loaded machine


@pytest.mark.timeout(TIMEOUT_S)
def test_random_interleavings_follow_the_model(backend_app) -> None:
    run_state_machine_as_test(
        LedgerAndJobs,
        settings=hypothesis_settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            derandomize=os.environ.get("HUB_MODEL_RANDOM") != "1", print_blob=True,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no explain
            suppress_health_check=[HealthCheck.too_slow]))


@pytest.mark.parametrize("scenario", scenarios.ALL, ids=lambda s: s.__name__)
def test_each_lifecycle_path_follows_the_model(backend_app, scenario) -> None:
    machine = LedgerAndJobs()
    try:
        machine.check_all_invariants()
        scenario(scenarios.Steps(machine))
    finally:
        machine.teardown()
