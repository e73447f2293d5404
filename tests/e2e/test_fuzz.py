"""Schemathesis over every service's OpenAPI (issue 11, item 8), in-process on the real stack
with throwaway databases and topics: no answer is a server error, and every answer (2xx and
the documented error format of 4xx/503) conforms to the operation's documented schema.

Cases are generated first (derandomized: the same cases on every run, no example database),
then sent through the services' ASGI apps in the test's own event loop."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.vocabulary import Role
from tests import cases
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The caller per service: a role that may use most of its routes (the rest answer 403, checked too).
CALLERS: dict[str, tuple[Role, str]] = {
    "intake": (Role.CASE_MANAGER, "jc-en"),
    "casework": (Role.CASE_MANAGER, "jc-en"),
    "placement": (Role.CASE_MANAGER, "jc-en"),
    "reporting": (Role.PROJECT_LEAD, "jc-en"),
}


def generate(operation: Any) -> list[Case[Any]]:
    """The same ``EXAMPLES_PER_OPERATION`` cases of one operation on every run."""
    return cases.generate(operation, EXAMPLES_PER_OPERATION)


async def fuzz_service(stack: Stack, service: str) -> tuple[int, list[str]]:
    """Send every generated case of ``service``; returns (operations, failures)."""
    schema = schemathesis.openapi.from_dict(stack.apps[service].openapi())
    role, agency = CALLERS[service]
    auth = stack.token(role, agency)
    client = stack.clients[service]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations += 1
        for case in generate(operation):
            kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=auth)
            response = await client.request(
                kwargs["method"],
                kwargs["url"],
                headers=kwargs.get("headers"),
                params=kwargs.get("params"),
                cookies=kwargs.get("cookies"),
                json=kwargs.get("json"),
                content=kwargs.get("data") if not isinstance(kwargs.get("data"), dict) else None,
            )
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as failure:
                failures.append(f"{service} {operation.label}: {str(failure)[:600]}")
                break  # one failure per operation is enough to report it
    return operations, failures


async def test_every_operation_of_every_service_survives_fuzzing(stack: Stack) -> None:
    total = 0
    failures: list[str] = []
    for service in CALLERS:
        operations, found = await fuzz_service(stack, service)
        total += operations
        failures += found
    print(f"fuzzed {total} operations, {EXAMPLES_PER_OPERATION} cases each: {len(failures)} failures")
    assert failures == [], "\n\n".join(failures)
    assert total >= 90  # every route of the four services (a lost router would shrink this)
