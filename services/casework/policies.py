"""Reactions of casework to other services' events (process managers).

They append casework's own events (``PostgresEventStore.append`` on the runner's connection) in
the same transaction that stores the consumer position, so a redelivered event can never act
twice. Each decision is state-based (load the case, ask the pure domain), which makes
redelivery and replays harmless. Handlers are registered by event class and read the decoded
contract (``rec.payload``).

- ``enrolments`` (intake.events): enrolment opens the case; withdrawn participation consent
  exits it (reason ``consent-withdrawn``, as of the effective day: the same consumer group, so
  the withdrawal is always seen after the enrolment it ends); ParticipantDataErased destroys
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
from uuid import UUID

from services.casework import domain
from shared.contracts.base import DomainEvent, registry
from shared.contracts.casework import CapacityProfileRecorded, ParticipantExited
from shared.contracts.common import CapacityProfile, ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ObjectionRecorded,
    ObjectionWithdrawn,
    ParticipantDataErased,
    ParticipantEnrolled,
    objection_id_v1,
)
from shared.contracts.placement import EmploymentEnded, EmploymentStarted
from shared.crypto import ERASED, SubjectKeys
from shared.db import Conn
from shared.envelope import Actor, Envelope
from shared.eventstore import PostgresEventStore
from shared.projections import Projection
from shared.reactions import append_reaction
from shared.read_models import migrations
from shared.recorded import Recorded
from shared.unit_of_work import Loaded, fold

SYSTEM = Actor(id="casework", role="service")

enrolments = Projection(name="enrolments", sql=[], topics=["intake"], side_effects=True)
consents = Projection(
    name="consents",
    sql=migrations(__file__, "policies", "consents"),
    topics=["intake", "casework"],
    side_effects=True,
)
employment = Projection(name="employment", sql=[], topics=["placement"], side_effects=True)

_store = PostgresEventStore()
keys = SubjectKeys()


async def _load(conn: Conn, participant_id: UUID) -> Loaded[domain.Case]:
    """The participant's case as it stands in this transaction."""
    stream = domain.stream_id(participant_id)
    return fold(domain.case, stream, await _store.read_stream(stream, conn=conn))


async def _append(
    conn: Conn, cause: Recorded[DomainEvent], current: Loaded[domain.Case], events: list[DomainEvent]
) -> None:
    """Append to the case stream after the loaded version, with the triggering event as causation."""
    if not events:
        return
    agency, project = current.state.agency or cause.agency, current.state.project or cause.project
    await append_reaction(_store, conn, cause, current, events, actor=SYSTEM, agency=agency, project=project)


async def _lock(conn: Conn, participant_id: UUID) -> None:
    """Serialise the decisions about one participant across replicas (intake and casework
    events of one person may sit on partitions owned by different consumers)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"casework-participant:{participant_id}"
    )


# ------------------------------------------------------------------ enrolments / erasure


@enrolments.on(ParticipantEnrolled)
async def open_case(conn: Conn, rec: Recorded[ParticipantEnrolled]) -> None:
    enrolled = rec.payload
    current = await _load(conn, enrolled.participant_id)
    if current.exists:
        return  # the case exists already (replay of an old enrolment)
    events = domain.open_case(current.state, enrolled)
    await append_reaction(
        _store, conn, rec, current, events, actor=SYSTEM, agency=enrolled.agency, project=enrolled.project
    )


@enrolments.on(ConsentWithdrawn)
async def participation_withdrawn(conn: Conn, rec: Recorded[ConsentWithdrawn]) -> None:
    """Withdrawn participation consent ends the participation: the case exits by itself."""
    e = rec.payload
    if e.purpose is not ConsentPurpose.PARTICIPATION:
        return
    await _lock(conn, e.participant_id)
    current = await _load(conn, e.participant_id)
    await _append(conn, rec, current, domain.end_on_withdrawal(current.state, e.effective_on))


@enrolments.on(ParticipantDataErased)
async def erase(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    pid = rec.payload.participant_id
    await _lock(conn, pid)
    await keys.erase(conn, str(pid))
    current = await _load(conn, pid)
    await _append(conn, rec, current, domain.erase_case(current.state, rec.payload.erased_on))


# ------------------------------------------------------------------ consents / disclosure

# The consent as tracked (granted and not yet recorded as withdrawn or expired): sharing is
# state-based, and withdrawal/expiry retract as soon as they are recorded.
_DISCLOSURE_ON_RECORD = (
    "SELECT EXISTS (SELECT 1 FROM consents WHERE participant_id = $1 AND purpose = $2 AND status = 'active')"
)
_LATEST_PROFILE = "SELECT envelope FROM events WHERE stream_id = $1 AND event_type = $2 ORDER BY version DESC LIMIT 1"


async def disclosure_active(conn: Conn, participant_id: UUID) -> bool:
    return bool(await conn.fetchval(_DISCLOSURE_ON_RECORD, participant_id, ConsentPurpose.EMPLOYER_DISCLOSURE.value))


async def latest_profile(conn: Conn, participant_id: UUID) -> CapacityProfile | None:
    """The newest recorded capacity profile, opened with casework's key (None if erased)."""
    row = await conn.fetchval(_LATEST_PROFILE, domain.stream_id(participant_id), CapacityProfileRecorded.event_type)
    if row is None:
        return None
    env = Envelope.from_bytes(row)
    recorded = registry.load(env.event_type, env.schema_version, env.payload)
    assert isinstance(recorded, CapacityProfileRecorded)
    value = await keys.open(conn, str(participant_id), recorded.sealed_profile)
    if value == ERASED:
        return None
    return CapacityProfile.model_validate(value)


async def reconcile(conn: Conn, cause: Recorded[DomainEvent], participant_id: UUID, on: date, reason: str) -> None:
    current = await _load(conn, participant_id)
    if not current.exists:
        return
    active = await disclosure_active(conn, participant_id)
    profile = await latest_profile(conn, participant_id) if active else None
    events = domain.reconcile_sharing(current.state, consent_active=active, profile=profile, on=on, reason=reason)
    await _append(conn, cause, current, events)


_INSERT_CONSENT = (
    "INSERT INTO consents (consent_id, participant_id, purpose, scope, granted_on, expires_on, scope_marks)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consent_id) DO NOTHING"
)


@consents.on(ConsentGranted)
async def consent_granted(conn: Conn, rec: Recorded[ConsentGranted]) -> None:
    e = rec.payload
    await _lock(conn, e.participant_id)
    await conn.execute(
        _INSERT_CONSENT,
        e.consent_id,
        e.participant_id,
        e.purpose.value,
        e.scope,
        e.granted_on,
        e.expires_on,
        e.scope_marks or None,  # a v2 medical release: its doctor's keyed digests (the name is sealed)
    )
    if e.purpose is ConsentPurpose.EMPLOYER_DISCLOSURE:
        await reconcile(conn, rec, e.participant_id, e.granted_on, "consent granted")


@consents.on(ConsentWithdrawn, ConsentExpired)
async def consent_ended(conn: Conn, rec: Recorded[ConsentWithdrawn | ConsentExpired]) -> None:
    e = rec.payload
    if isinstance(e, ConsentWithdrawn):
        status, on, reason = "withdrawn", e.effective_on, "consent withdrawn"
    else:
        status, on, reason = "expired", e.expired_on, "consent expired"
    await _lock(conn, e.participant_id)
    await conn.execute("UPDATE consents SET status = $2, ended_on = $3 WHERE consent_id = $1", e.consent_id, status, on)
    if e.purpose is ConsentPurpose.EMPLOYER_DISCLOSURE:
        await reconcile(conn, rec, e.participant_id, on, reason)


_INSERT_OBJECTION = (
    "INSERT INTO objections (objection_id, participant_id, recorded_on, scope, scope_marks)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (objection_id) DO NOTHING"
)
_WITHDRAW_OBJECTION = "UPDATE objections SET withdrawn_on = $2 WHERE objection_id = $1"
# Rows written before objections had ids (all from v1 events, scope in clear) get the id the
# upcaster gives their event.
_UNNAMED_OBJECTIONS = "SELECT recorded_on, scope FROM objections WHERE participant_id = $1 AND objection_id IS NULL"
_NAME_OBJECTION = (
    "UPDATE objections SET objection_id = $4"
    " WHERE participant_id = $1 AND recorded_on = $2 AND scope = $3 AND objection_id IS NULL"
)


@consents.on(ObjectionRecorded)
async def objection_recorded(conn: Conn, rec: Recorded[ObjectionRecorded]) -> None:
    """§ 76 SGB X: from its day on, the doctors' data it covers is withheld from other agencies'
    staff. A v2 scope is sealed under intake's key: casework keeps its words' keyed digests."""
    e = rec.payload
    await conn.execute(
        _INSERT_OBJECTION, e.objection_id, e.participant_id, e.recorded_on, e.scope or "", e.scope_marks or None
    )


@consents.on(ObjectionWithdrawn)
async def objection_withdrawn(conn: Conn, rec: Recorded[ObjectionWithdrawn]) -> None:
    """The objection no longer holds from ``withdrawn_on`` on."""
    e = rec.payload
    for row in await conn.fetch(_UNNAMED_OBJECTIONS, e.participant_id):
        oid = objection_id_v1(e.participant_id, row["recorded_on"], row["scope"])
        await conn.execute(_NAME_OBJECTION, e.participant_id, row["recorded_on"], row["scope"], oid)
    await conn.execute(_WITHDRAW_OBJECTION, e.objection_id, e.withdrawn_on)


@consents.on(ParticipantDataErased)
async def consents_erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    await conn.execute("DELETE FROM consents WHERE participant_id = $1", rec.payload.participant_id)
    await conn.execute("DELETE FROM objections WHERE participant_id = $1", rec.payload.participant_id)


@consents.on(CapacityProfileRecorded, ParticipantExited)
async def case_changed(conn: Conn, rec: Recorded[CapacityProfileRecorded | ParticipantExited]) -> None:
    """Own events that may change what placement should have (the case id is the participant id)."""
    pid = rec.payload.case_id
    await _lock(conn, pid)
    reason = "exit" if isinstance(rec.payload, ParticipantExited) else "profile changed"
    await reconcile(conn, rec, pid, rec.occurred_at.date(), reason)


# ------------------------------------------------------------------ employment


@employment.on(EmploymentStarted)
async def employment_started(conn: Conn, rec: Recorded[EmploymentStarted]) -> None:
    e = rec.payload
    current = await _load(conn, e.participant_id)
    events = domain.record_employment(current.state, e.employment_id, e.started_on, e.type.value)
    await _append(conn, rec, current, events)


@employment.on(EmploymentEnded)
async def employment_ended(conn: Conn, rec: Recorded[EmploymentEnded]) -> None:
    e = rec.payload
    current = await _load(conn, e.participant_id)
    await _append(conn, rec, current, domain.record_employment_end(current.state, e.employment_id, e.ended_on))
