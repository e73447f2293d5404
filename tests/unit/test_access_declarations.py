"""Every route of the four services declares its access decision (issue 12), each declared rule
is a function of the service's access.py, and each README's access table is the one made of
the declarations (no stack needed: the apps are built, not started)."""

from __future__ import annotations

import pytest

from tests import access_matrix
from tests.access_matrix import SERVICES, readme, spec_of


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_declares_a_decision_made_of_its_access_rules(service: str) -> None:
    document = spec_of(service)
    assert access_matrix.undeclared(document) == []
    routes = access_matrix.routes(service, document)
    assert routes, service
    assert [p for r in routes for p in access_matrix.unresolved(r)] == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_access_table_is_the_declarations(service: str) -> None:
    text = readme(service).read_text()
    assert access_matrix.readme_table(text) == access_matrix.table(service, spec_of(service)), (
        f"regenerate: .venv/bin/python -m tests.access_matrix {service}"
    )


def test_a_route_without_a_declaration_is_named() -> None:
    document = {"paths": {"/x": {"get": {"x-access": {"resource": "r", "decision": "public"}}, "post": {}}}}
    assert access_matrix.undeclared(document) == ["POST /x"]


def test_a_declared_rule_that_access_py_lacks_is_named() -> None:
    route = access_matrix.Route("placement", "GET", "/x", "employer", "require_role(READ_ROLES) & no_such_rule")
    assert access_matrix.unresolved(route) == ["placement GET /x: services.placement.access has no rule no_such_rule"]
