"""Configuration comes from the environment: service prefix beats the shared prefix."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLScram512

from shared.kafka_auth import broker_security, client_options
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


def test_a_consumed_source_topic_can_be_renamed_but_never_the_own_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """An agency reads intake's events mirrored by MirrorMaker 2; its own intake keeps its topic."""
    monkeypatch.setenv("REHAPRO_TOPIC_INTAKE", "en.intake.events")
    casework = load_settings("casework", topic_prefix="b.")
    assert casework.source_topic("intake") == "en.intake.events"
    assert casework.source_topic("placement") == "b.placement.events"
    assert casework.source_topic("casework") == casework.topic("casework") == "b.casework.events"
    intake = load_settings("intake", topic_prefix="b.")
    assert intake.source_topic("intake") == intake.topic("intake") == "b.intake.events"


def test_sasl_needs_a_username_and_a_password() -> None:
    with pytest.raises(ValueError, match="kafka_sasl_username and kafka_sasl_password"):
        load_settings("intake", kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="intake")


def test_kafka_client_options_follow_the_protocol() -> None:
    plain = load_settings("intake")
    assert client_options(plain) == {"security_protocol": "PLAINTEXT"}
    assert broker_security(plain) is None
    scram = load_settings(
        "intake",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="rehapro-intake",
        kafka_sasl_password="s3cret-s3cret",
    )
    options = client_options(scram)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("rehapro-intake", "s3cret-s3cret")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    security = broker_security(scram)
    assert isinstance(security, SASLScram512)
    assert security.use_ssl
    assert "s3cret" not in repr(scram)  # the password is a SecretStr: never in logs or reprs
