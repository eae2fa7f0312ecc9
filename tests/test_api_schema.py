"""The hub's own OpenAPI document, held to by the running app: schemathesis generates requests
for every documented operation (valid and invalid ones) and calls the app in-process (WSGI),
signed in with a bearer access token: a verified user's, an admin's on `/api/admin/...`.

Each answer must be no server error, a documented status code, and a body matching the
documented schema. Left out:
- `POST /api/payments/webhook`: only Stripe-signed bodies get past its first line (its own
  tests sign events);
- `POST /api/ops/worker-check`: it waits for a worker to answer, and none runs in-process here.
The `/v1` and job routes run too: the user has no credits, so a valid request ends at the hold
(402) before anything is queued, and every invalid one is refused first; streaming answers are
covered with a worker by `tests/jobs`. Checkout has no Stripe here, so its documented 503 is
allowed there (status and body are still checked).

Bounded: the coverage phase (every boundary value of every field, hundreds of cases per
operation with megabyte strings) is off; examples and `MAX_EXAMPLES` generated cases run.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import auth_headers, create_user

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
NEEDS_STRIPE = {"/api/payments/checkout"}
CONFIG = {"phases": {"coverage": {"enabled": False}}, "seed": 17}


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app,
                                          config=SchemathesisConfig.from_dict(CONFIG))


schema = schemathesis.pytest.from_fixture("api_schema") \
    .exclude(path="/api/payments/webhook") \
    .exclude(path="/api/ops/worker-check")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_keeps_its_documented_promises(case, settings) -> None:
    role = "admin" if case.path.startswith("/api/admin/") else "user"
    headers = auth_headers(create_user(role=role), settings.SECRET_KEY)
    checks = [c for c in CHECKS if not (case.path in NEEDS_STRIPE and c is not_a_server_error)]
    case.call_and_validate(headers=headers, checks=checks)
