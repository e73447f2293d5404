"""The envelope, its hash chain and schema upcasting (pure, in memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest

from shared.contracts.base import DomainEvent, EventRegistry, UnknownEventType
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id, verify_chain


def make_chain(n: int, stream: str = "participant-1") -> list[Envelope]:
    prev = GENESIS_HASH
    out = []
    for v in range(1, n + 1):
        e = Envelope(
            event_id=new_id(),
            event_type="Something",
            schema_version=1,
            stream_id=stream,
            stream_type="participant",
            version=v,
            occurred_at=datetime(2026, 1, v, tzinfo=UTC),
            recorded_at=datetime(2026, 1, v, tzinfo=UTC),
            agency="jc-en",
            project="pro-aktiv",
            actor=Actor(id="u1", role="case-manager"),
            correlation_id=new_id(),
            causation_id=None,
            payload={"n": v},
            prev_hash=prev,
        ).sealed()
        prev = e.hash
        out.append(e)
    return out


def test_event_ids_are_uuid7_and_time_ordered() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


def test_bytes_round_trip_keeps_the_hash_valid() -> None:
    [e] = make_chain(1)
    again = Envelope.from_bytes(e.to_bytes())
    assert again == e
    assert again.compute_hash() == e.hash
    assert e.to_bytes() == again.to_bytes()


def test_intact_chain_verifies() -> None:
    assert verify_chain(make_chain(5)) == []


def test_altered_payload_is_detected() -> None:
    chain = make_chain(3)
    forged = chain[1].model_copy(update={"payload": {"n": 99}})
    breaks = verify_chain([chain[0], forged, chain[2]])
    assert [(b.version, b.reason) for b in breaks] == [(2, "content does not match hash")]


def test_removed_event_is_detected() -> None:
    chain = make_chain(3)
    reasons = {b.reason for b in verify_chain([chain[0], chain[2]])}
    assert "expected version 2" in reasons
    assert "prev_hash does not link" in reasons


def test_reordered_events_are_detected() -> None:
    chain = make_chain(3)
    assert verify_chain([chain[0], chain[2], chain[1]])


def test_resealed_forgery_breaks_the_next_link() -> None:
    chain = make_chain(3)
    forged = chain[1].model_copy(update={"payload": {"n": 99}}).sealed()
    breaks = verify_chain([chain[0], forged, chain[2]])
    assert [(b.version, b.reason) for b in breaks] == [(3, "prev_hash does not link")]


class Registered(DomainEvent):
    event_type: ClassVar[str] = "Registered"
    schema_version: ClassVar[int] = 3
    service: ClassVar[str] = "test"
    full_name: str
    hours_per_week: int


def test_upcasters_lift_old_payloads_step_by_step() -> None:
    reg = EventRegistry()
    reg.register(Registered)

    @reg.upcaster("Registered", 1)
    def v1_to_v2(p: dict[str, object]) -> dict[str, object]:
        return {"full_name": f"{p['first']} {p['last']}", "hours": p["hours"]}

    @reg.upcaster("Registered", 2)
    def v2_to_v3(p: dict[str, object]) -> dict[str, object]:
        return {"full_name": p["full_name"], "hours_per_week": p["hours"]}

    loaded = reg.load("Registered", 1, {"first": "Ada", "last": "L", "hours": 20})
    assert loaded == Registered(full_name="Ada L", hours_per_week=20)
    assert reg.load("Registered", 3, {"full_name": "B", "hours_per_week": 1}) == Registered(
        full_name="B", hours_per_week=1
    )


def test_missing_upcaster_and_unknown_type_are_errors() -> None:
    reg = EventRegistry()
    reg.register(Registered)
    with pytest.raises(ValueError, match="no upcaster"):
        reg.load("Registered", 2, {})
    with pytest.raises(UnknownEventType):
        reg.load("Nope", 1, {})


def test_registering_two_models_under_one_name_fails() -> None:
    reg = EventRegistry()
    reg.register(Registered)

    class Other(Registered):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        reg.register(Other)
