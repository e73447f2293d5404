"""One consumer group per service: every projection and policy of a service is fed by one
subscriber over the union of their topics; each keeps its own dead-letter topic."""

from __future__ import annotations

import importlib
from unittest.mock import MagicMock

import pytest

from shared.consumer import dead_letter_topic
from shared.projections import ProjectionRunner
from shared.runtime import SERVICE_GROUP, ServiceDefinition, build_broker
from shared.settings import load_settings
from tests import support


@pytest.mark.parametrize("service", support.SERVICES)
def test_one_group_per_service_reads_the_union_of_its_projections_topics(service: str) -> None:
    definition = importlib.import_module(f"services.{service}.app").definition
    assert isinstance(definition, ServiceDefinition)
    settings = load_settings(service, topic_prefix="T.", group_prefix="G.")
    runners = [ProjectionRunner(MagicMock(), p, settings.schema_for(p.name)) for p in definition.projections]
    broker, consumer = build_broker(settings, definition, runners)
    assert consumer is not None
    assert len(broker.subscribers) == 1
    assert consumer.group_id == f"G.{service}.{SERVICE_GROUP}"
    assert consumer.topics == sorted({f"T.{t}.events" for p in definition.projections for t in p.topics})
    assert [f.runner.projection.name for f in consumer.feeds] == [p.name for p in definition.projections]
    assert {dead_letter_topic(f.group_id) for f in consumer.feeds} == {
        f"G.{service}.{p.name}.dlq" for p in definition.projections
    }
    assert SERVICE_GROUP not in {p.name for p in definition.projections}  # a DLQ name cannot collide


def test_a_service_without_projections_has_no_consumer() -> None:
    settings = load_settings("intake", topic_prefix="T.")
    _, consumer = build_broker(settings, ServiceDefinition(name="intake"), [])
    assert consumer is None
