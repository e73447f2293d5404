"""Reactions of casework to other services' events (process managers).

They append casework's own events in the same transaction that stores the consumer position,
so a redelivered event can never act twice. Each decision is state-based (load the case,
ask the pure domain), which makes redelivery and replays harmless.

- ``enrolments`` (intake.events): enrolment opens the case; ParticipantDataErased destroys
  casework's key for the person and appends CaseDataErased (same stream key as enrolment, so
  the two are seen in order).
- ``consents`` (intake.events + casework.events): tracks consents (drv-exchange access,
  employer-disclosure, medical-release, expiry tasks) and keeps placement's copy of the
  capacity profile in line with employer-disclosure consent: CapacityProfileShared when a
  profile is recorded under active consent or consent is granted while a profile exists;
  CapacityProfileRetracted on withdrawal, expiry, exit or erasure.
- ``employment`` (placement.events): EmploymentStarted/Ended are recorded on the case.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import UUID

from services.casework import domain
from shared.commands import load
from shared.contracts.base import DomainEvent
from shared.contracts.common import CapacityProfile, ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ParticipantDataErased,
    ParticipantEnrolled,
)
from shared.contracts.placement import EmploymentEnded, EmploymentStarted
from shared.crypto import ERASED, SubjectKeys
from shared.db import Conn
from shared.envelope import Actor, Envelope
from shared.eventstore import CommandContext, PostgresEventStore
from shared.projections import Projection

SYSTEM = Actor(id="casework", role="service")

enrolments = Projection(name="enrolments", sql=[], topics=["intake"], side_effects=True)
consents = Projection(
    name="consents",
    sql=sorted((Path(__file__).parent / "sql" / "policies" / "consents").glob("*.sql")),
    topics=["intake", "casework"],
    side_effects=True,
)
employment = Projection(name="employment", sql=[], topics=["placement"], side_effects=True)

_store = PostgresEventStore()
keys = SubjectKeys()


async def _append(conn: Conn, env: Envelope, participant_id: UUID, events: list[DomainEvent]) -> None:
    """Append to the case stream, with the triggering event as causation."""
    if not events:
        return
    current = await load(_store, domain.case, domain.stream_id(participant_id), conn)
    await _store.append(
        conn,
        stream_id=domain.stream_id(participant_id),
        stream_type=domain.case.stream_type,
        expected_version=current.version,
        events=events,
        context=CommandContext(
            actor=SYSTEM,
            agency=current.state.agency or env.agency,
            project=current.state.project or env.project,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        ),
    )


async def _lock(conn: Conn, participant_id: UUID) -> None:
    """Serialise the decisions about one participant across replicas (intake and casework
    events of one person may sit on partitions owned by different consumers)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"casework-participant:{participant_id}"
    )


# ------------------------------------------------------------------ enrolments / erasure


@enrolments.on("ParticipantEnrolled")
async def open_case(conn: Conn, env: Envelope) -> None:
    enrolled = ParticipantEnrolled.model_validate(env.payload)
    current = await load(_store, domain.case, domain.stream_id(enrolled.participant_id), conn)
    if current.version:
        return  # the case exists already (replay of an old enrolment)
    await _store.append(
        conn,
        stream_id=domain.stream_id(enrolled.participant_id),
        stream_type=domain.case.stream_type,
        expected_version=0,
        events=domain.open_case(current.state, enrolled),
        context=CommandContext(
            actor=SYSTEM,
            agency=enrolled.agency,
            project=enrolled.project,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        ),
    )


@enrolments.on("ParticipantDataErased")
async def erase(conn: Conn, env: Envelope) -> None:
    erased = ParticipantDataErased.model_validate(env.payload)
    pid = erased.participant_id
    await _lock(conn, pid)
    await keys.erase(conn, str(pid))
    current = await load(_store, domain.case, domain.stream_id(pid), conn)
    await _append(conn, env, pid, domain.erase_case(current.state, erased.erased_on))


# ------------------------------------------------------------------ consents / disclosure


async def disclosure_active(conn: Conn, participant_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM consents WHERE participant_id = $1 AND purpose = $2 AND status = 'active')",
            participant_id,
            ConsentPurpose.EMPLOYER_DISCLOSURE.value,
        )
    )


async def latest_profile(conn: Conn, participant_id: UUID) -> CapacityProfile | None:
    """The newest recorded capacity profile, opened with casework's key (None if erased)."""
    row = await conn.fetchrow(
        "SELECT envelope FROM events WHERE stream_id = $1 AND event_type = 'CapacityProfileRecorded'"
        " ORDER BY version DESC LIMIT 1",
        domain.stream_id(participant_id),
    )
    if row is None:
        return None
    sealed = Envelope.from_bytes(row["envelope"]).payload["sealed_profile"]
    value = await keys.open(conn, str(participant_id), sealed)
    if value == ERASED:
        return None
    return CapacityProfile.model_validate(value)


async def reconcile(conn: Conn, env: Envelope, participant_id: UUID, on: date, reason: str) -> None:
    current = await load(_store, domain.case, domain.stream_id(participant_id), conn)
    if not current.version:
        return
    active = await disclosure_active(conn, participant_id)
    profile = await latest_profile(conn, participant_id) if active else None
    events = domain.reconcile_sharing(current.state, consent_active=active, profile=profile, on=on, reason=reason)
    await _append(conn, env, participant_id, events)


@consents.on("ConsentGranted")
async def consent_granted(conn: Conn, env: Envelope) -> None:
    e = ConsentGranted.model_validate(env.payload)
    await _lock(conn, e.participant_id)
    await conn.execute(
        "INSERT INTO consents (consent_id, participant_id, purpose, scope, granted_on, expires_on)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING",
        e.consent_id,
        e.participant_id,
        e.purpose.value,
        e.scope,
        e.granted_on,
        e.expires_on,
    )
    if e.purpose is ConsentPurpose.EMPLOYER_DISCLOSURE:
        await reconcile(conn, env, e.participant_id, e.granted_on, "consent granted")


@consents.on("ConsentWithdrawn", "ConsentExpired")
async def consent_ended(conn: Conn, env: Envelope) -> None:
    e: ConsentWithdrawn | ConsentExpired
    if env.event_type == "ConsentWithdrawn":
        e = ConsentWithdrawn.model_validate(env.payload)
        status, on, reason = "withdrawn", e.effective_on, "consent withdrawn"
    else:
        e = ConsentExpired.model_validate(env.payload)
        status, on, reason = "expired", e.expired_on, "consent expired"
    await _lock(conn, e.participant_id)
    await conn.execute("UPDATE consents SET status = $2, ended_on = $3 WHERE consent_id = $1", e.consent_id, status, on)
    if e.purpose is ConsentPurpose.EMPLOYER_DISCLOSURE:
        await reconcile(conn, env, e.participant_id, on, reason)


@consents.on("ObjectionRecorded")
async def objection_recorded(conn: Conn, env: Envelope) -> None:
    """§ 76 SGB X: from now on, medical reports are withheld from other agencies' staff."""
    await conn.execute(
        "INSERT INTO objections (participant_id, recorded_on, scope) VALUES ($1, $2::text::date, $3)",
        UUID(env.payload["participant_id"]),
        env.payload["recorded_on"],
        env.payload["scope"],
    )


@consents.on("ParticipantDataErased")
async def consents_erased(conn: Conn, env: Envelope) -> None:
    await conn.execute("DELETE FROM consents WHERE participant_id = $1", env.payload["participant_id"])
    await conn.execute("DELETE FROM objections WHERE participant_id = $1", UUID(env.payload["participant_id"]))


@consents.on("CapacityProfileRecorded", "ParticipantExited")
async def case_changed(conn: Conn, env: Envelope) -> None:
    """Own events that may change what placement should have (the stream is case-<pid>)."""
    pid = UUID(env.stream_id.removeprefix("case-"))
    await _lock(conn, pid)
    on = env.occurred_at.date()
    await reconcile(conn, env, pid, on, "exit" if env.event_type == "ParticipantExited" else "profile changed")


# ------------------------------------------------------------------ employment


@employment.on("EmploymentStarted")
async def employment_started(conn: Conn, env: Envelope) -> None:
    e = EmploymentStarted.model_validate(env.payload)
    current = await load(_store, domain.case, domain.stream_id(e.participant_id), conn)
    events = domain.record_employment(current.state, e.employment_id, e.started_on, e.type.value)
    await _append(conn, env, e.participant_id, events)


@employment.on("EmploymentEnded")
async def employment_ended(conn: Conn, env: Envelope) -> None:
    e = EmploymentEnded.model_validate(env.payload)
    current = await load(_store, domain.case, domain.stream_id(e.participant_id), conn)
    await _append(conn, env, e.participant_id, domain.record_employment_end(current.state, e.employment_id, e.ended_on))
