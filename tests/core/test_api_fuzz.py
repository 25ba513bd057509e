"""The schema is the contract: Schemathesis drives every operation as each role.

Each operation of the served schema becomes a test per role (customer, agent, lead). Its cases
come from the schema: the schema's own examples, then generated valid and invalid input. Every
answer must be no server error, a documented status, a documented content type and a body
that matches the documented shape. A new endpoint is covered as soon as it is in the schema.

Each generated case is sent twice when its path names objects: once as generated (almost
always a 404) and once with the path pointing at a real object the role may work
(`tests.api_world`), so the handler runs past its lookup with the generated body and query.

Bounded for `make test` (`FUZZ_EXAMPLES` per operation and role); `make fuzz` runs longer.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api_world import ROLES, build_world

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# `make fuzz` adds the coverage phase: every boundary and invalid value the schema implies.
FUZZ_PHASES = set(os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(","))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
for _phase in ("examples", "coverage", "fuzzing"):
    getattr(schema.config.phases, _phase).enabled = _phase in FUZZ_PHASES


@pytest.fixture
def world(db):
    # Django's own test client does the same: a request's start and end must not close the
    # connection that holds the test's transaction (Schemathesis calls the WSGI app directly).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield build_world()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case, role, world):
    headers = world.headers(role)
    case.call_and_validate(app=application, headers=headers, checks=CHECKS)
    real = {
        name: world.path_value(role, case.operation.path, name)
        for name in (case.path_parameters or {})
    }
    if real and all(value is not None for value in real.values()):
        case.path_parameters = {**case.path_parameters, **{k: str(v) for k, v in real.items()}}
        case.call_and_validate(app=application, headers=headers, checks=CHECKS)
