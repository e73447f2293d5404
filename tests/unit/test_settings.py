"""Configuration comes from the environment: service prefix beats the shared prefix."""

from __future__ import annotations

import pytest

from shared.settings import load_settings


def test_service_prefix_beats_shared_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REHAPRO_KAFKA_BOOTSTRAP", "shared:9092")
    monkeypatch.setenv("CASEWORK_KAFKA_BOOTSTRAP", "own:9092")
    assert load_settings("casework").kafka_bootstrap == "own:9092"
    assert load_settings("intake").kafka_bootstrap == "shared:9092"


def test_each_service_defaults_to_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REHAPRO_DATABASE_URL", raising=False)
    assert load_settings("placement").database_url.endswith("/placement")
    monkeypatch.setenv("REHAPRO_DATABASE_URL", "postgresql://db/shared")
    assert load_settings("placement").database_url == "postgresql://db/shared"


def test_topics_and_schemas_follow_the_prefixes() -> None:
    s = load_settings("reporting", topic_prefix="t1.", projection_schema="p")
    assert s.topic("intake") == "t1.intake.events"
    assert s.schema_for("counts") == "p_counts"
