"""The published JSON Schemas match the code, and contracts keep health data out of clear text."""

from __future__ import annotations

import json
from pathlib import Path

from shared.contracts import registry
from shared.envelope import Envelope

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_published_schemas_are_current() -> None:
    """`make schemas` regenerates them; a contract change without it fails here."""
    assert json.loads((SCHEMAS / "envelope.json").read_text()) == Envelope.model_json_schema()
    for model in registry.models():
        path = SCHEMAS / model.service / f"{model.event_type}.v{model.schema_version}.json"
        assert path.exists(), f"{path} missing: run make schemas"
        published = json.loads(path.read_text())
        assert published["x-event-type"] == model.event_type
        assert published["properties"] == model.model_json_schema()["properties"], f"{path} is stale"


def test_every_service_owns_its_contracts_and_names_are_past_tense_facts() -> None:
    services = {m.service for m in registry.models()}
    assert services == {"intake", "casework", "placement", "reporting", "platform"}
    for model in registry.models():
        assert model.event_type == model.__name__
        assert model.model_config.get("extra") == "forbid", model.event_type


def test_free_text_in_health_contracts_is_sealed() -> None:
    """Contracts that carry health data keep any free text in ``sealed_*`` fields."""
    suspicious = {"diagnosis", "findings", "summary", "details", "reason_text", "note", "text"}
    for model in registry.models():
        if model.service != "casework" or not model.health_data:
            continue
        for name in model.model_fields:
            assert name not in suspicious, f"{model.event_type}.{name} should be sealed"


def test_v1_objections_get_a_stable_id_from_the_upcaster() -> None:
    """Old events are never edited: a v1 ObjectionRecorded loads as v2, with the same id for
    every reader (so a withdrawal in intake finds the row casework wrote)."""
    from shared.contracts.intake import ObjectionRecorded

    v1 = {"participant_id": "01a2312f-c89a-77a3-ab8e-246a92a7bcd9", "recorded_on": "2026-02-09", "scope": "Dr. Weber"}
    first, again = registry.load("ObjectionRecorded", 1, v1), registry.load("ObjectionRecorded", 1, dict(v1))
    assert isinstance(first, ObjectionRecorded)
    assert isinstance(again, ObjectionRecorded)
    assert first.objection_id == again.objection_id
    other = registry.load("ObjectionRecorded", 1, v1 | {"scope": "Klinik Hagen"})
    assert isinstance(other, ObjectionRecorded)
    assert other.objection_id != first.objection_id
