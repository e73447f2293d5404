"""``projections.restore`` gives what ``model_construct`` of the kept, validated fields gives
(the same values, defaults and fields set), without ``model_construct`` resolving the default
factories itself (slow on pydantic 2.14: an ``inspect.signature`` per call)."""

from __future__ import annotations

from typing import Any

import orjson

from services.reporting import projections
from shared.contracts.base import DomainEvent
from shared.contracts.intake import ConsentGranted, EligibilityChecked
from tests import reporting_scenario as sc


def _constructed(event: DomainEvent, data: dict[str, Any]) -> DomainEvent:
    """What ``restore`` gave before: pydantic's own ``model_construct`` of the validated fields."""
    cls = type(event)
    return cls.model_construct(**{n: projections._field(cls, n).validate_python(v) for n, v in data.items()})


def _kept() -> list[tuple[DomainEvent, dict[str, Any]]]:
    out = []
    for step in sc.STEPS:
        if type(step.event) in projections.KEPT:
            _, data = projections.reduce(step.event)
            out.append((step.event, orjson.loads(orjson.dumps(data))))  # as stored: JSON
    return out


def test_every_fact_of_the_scenario_restores_as_model_construct_builds_it() -> None:
    kept = _kept()
    assert {EligibilityChecked, ConsentGranted} <= {type(e) for e, _ in kept}  # with default factories
    for event, data in kept:
        restored = projections.restore(event.event_type, data)
        expected = _constructed(event, data)
        assert type(restored) is type(expected)
        assert restored.__dict__ == expected.__dict__
        assert list(restored.__dict__) == list(expected.__dict__)
        assert restored.model_fields_set == expected.model_fields_set == set(data)


def test_a_default_factory_gives_each_fact_its_own_value() -> None:
    event, data = next((e, d) for e, d in _kept() if isinstance(e, EligibilityChecked))
    first, second = (projections.restore(event.event_type, data) for _ in range(2))
    assert isinstance(first, EligibilityChecked)
    assert isinstance(second, EligibilityChecked)
    assert first.reasons == second.reasons == []
    assert first.reasons is not second.reasons
