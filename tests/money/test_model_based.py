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

Each test runs against both storage twins (`backend_app`): PostgreSQL (the PL/pgSQL functions
of migrations 003 and 007–011 behind `app.jobs.store.postgres` and `ledger.holds.postgres`) and
SQLite (their Python twins, `app.jobs.store.sqlite` and `ledger.holds.sqlite`), so the two are held
to the same rules. Both draw from one seed, so they run the same generated schedule: the same
rules with the same arguments, step for step, as long as both follow the model.

Deterministic and bounded: HUB_MODEL_EXAMPLES (default 50) sequences of up to HUB_MODEL_STEPS
(default 30) steps, from a fixed seed; HUB_MODEL_RANDOM=1 draws a new seed for each session
(printed; HUB_MODEL_SEED replays one) to explore new sequences (a failure also prints the
`@reproduce_failure` blob to replay it). Run them alone: `-m model`.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, Phase, seed
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test

from tests.money import scenarios
from tests.money.machine import LedgerAndJobs

pytestmark = pytest.mark.model

EXAMPLES = int(os.environ.get("HUB_MODEL_EXAMPLES", "50"))
STEPS = int(os.environ.get("HUB_MODEL_STEPS", "30"))
TIMEOUT_S = max(120, EXAMPLES * STEPS // 5)  # ~40 ms a step here; room for a loaded machine
# One seed per session, shared by both stores: the same schedule runs against each.
SEED = int(os.environ.get("HUB_MODEL_SEED") or
           (random.getrandbits(32) if os.environ.get("HUB_MODEL_RANDOM") == "1" else 18))


@seed(SEED)
def one_schedule() -> LedgerAndJobs:
    """The state machine, its schedule drawn from SEED whichever store it runs against."""
    return LedgerAndJobs()


@pytest.mark.timeout(TIMEOUT_S)
def test_random_interleavings_follow_the_model(backend_app) -> None:
    print(f"HUB_MODEL_SEED={SEED}")  # shown with a failure: the schedule to replay
    run_state_machine_as_test(
        one_schedule,
        settings=hypothesis_settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            print_blob=True,
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
