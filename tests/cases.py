"""Requests generated from the OpenAPI by schemathesis, the same on every run: the fuzz test's
cases and the access matrix's bodies come from here."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.case import Case


def generate(operation: Any, examples: int) -> list[Case[Any]]:
    """``examples`` cases of one operation (its documented examples first), derandomised so a
    failure reproduces."""
    cases: list[Case[Any]] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def collect(case: Case[Any]) -> None:
        cases.append(case)

    collect()
    return cases
