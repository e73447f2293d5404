"""reporting's read models, fed by events of intake, casework and placement (by contract
class); everything here can be re-derived from the topics.

- ``counts``: the thin-slice funnel counters per agency and project.
- ``plans``: each project's plan (casework's ``ProjectConfigured``) and what counts against
  it: enrolments, interventions' costs, wage subsidies (no participant ids; see below).
- ``facts``: every KPI-relevant event reduced to its business date, its source recording time
  and the non-identifying codes the KPIs need (sealed fields never get here; a consent scope
  only for drv-exchange: a medical-release scope names a doctor). The KPIs read the rows back
  as contract instances (``restore``) and fold them into journeys (``domain.journey``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

import asyncpg
import orjson
from pydantic import TypeAdapter

from services.reporting.domain import journey
from services.reporting.domain.journey import Fact, Journey
from shared.contracts.base import DomainEvent, registry
from shared.contracts.casework import (
    CaseHandedOver,
    CaseManagerAssigned,
    CaseOpened,
    CaseTransferred,
    InterventionAborted,
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseCompleted,
    PhaseEntered,
    ProjectConfigured,
    RehabApplicationDecided,
    RehabApplicationFiled,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
)
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    EnrolmentDeclined,
    ParticipantDataErased,
    ParticipantEnrolled,
    ReferralReceived,
    ReferralWithdrawn,
)
from shared.contracts.placement import (
    EmploymentEnded,
    EmploymentStarted,
    EmploymentStatusVerified,
    WageSubsidyGranted,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)
from shared.db import Conn
from shared.projections import Projection, Segment
from shared.read_models import columns, migrations, recorded_agency, statement
from shared.recorded import Recorded

E = TypeVar("E", bound=DomainEvent)

# --- counts ----------------------------------------------------------------------------------

counts = Projection(name="counts", sql=migrations(__file__, "projections", "counts"), topics=["intake", "casework"])

Counted = ReferralReceived | ParticipantEnrolled | CaseOpened


def _counter(rec: Recorded[Counted]) -> tuple[str, str, str]:
    """(agency, project, metric) of one counted event: the agency that runs the case."""
    e = rec.payload
    project = e.project or rec.project or "-"
    if isinstance(e, ReferralReceived):
        return e.running_agency, project, "referrals"
    if isinstance(e, ParticipantEnrolled):
        return e.agency, project, "enrolments"
    return e.agency, project, "open_cases"


_UPSERT_COUNTS = (
    "INSERT INTO funnel_counts (agency, project, metric, count)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
    " ON CONFLICT (agency, project, metric) DO UPDATE SET count = funnel_counts.count + excluded.count"
)


@counts.on_batch(ReferralReceived, ParticipantEnrolled, CaseOpened)
async def count(conn: Conn, batch: list[Recorded[Counted]]) -> None:
    """Adds up a run of events in memory and applies one upsert per (agency, project, metric)."""
    totals = Counter(_counter(rec) for rec in batch)
    await conn.execute(_UPSERT_COUNTS, *columns((*key, total) for key, total in totals.items()))


# --- facts -----------------------------------------------------------------------------------

# Rows come from their own event (a case's id is its participant's id: casework opens
# ``case-<participant id>``). Only an erasure reaches across streams (it pseudonymises the
# person's rows from every topic), and doing it again changes nothing: a parallel rebuild may
# split the streams and re-apply erasures at the end.
facts = Projection(
    name="facts",
    sql=migrations(__file__, "projections", "facts"),
    topics=["intake", "casework", "placement"],
    stream_local=True,
    cross_stream=frozenset({ParticipantDataErased}),
)


@dataclass(frozen=True)
class Kept(Generic[E]):
    """What a fact keeps of one contract: its business date and the non-identifying fields."""

    on: Callable[[E], date]
    fields: frozenset[str]


KEPT: dict[type[DomainEvent], Kept[Any]] = {}


def _keep(cls: type[E], on: Callable[[E], date], *fields: str) -> None:
    KEPT[cls] = Kept(on, frozenset(fields))


_keep(ReferralReceived, lambda e: e.received_on, "source_agency", "agency", "project", "age_band", "sex")
_keep(EligibilityChecked, lambda e: e.checked_on, "eligible")
_keep(ParticipantEnrolled, lambda e: e.start_date, "agency", "project", "age_band", "sex")
_keep(EnrolmentDeclined, lambda e: e.declined_on)
_keep(ReferralWithdrawn, lambda e: e.withdrawn_on)
_keep(ConsentGranted, lambda e: e.granted_on, "consent_id", "purpose", "scope", "expires_on")
_keep(ConsentWithdrawn, lambda e: e.effective_on, "consent_id", "purpose", "scope")
_keep(ConsentExpired, lambda e: e.expired_on, "consent_id", "purpose", "scope")
_keep(ParticipantDataErased, lambda e: e.erased_on)
_keep(CaseOpened, lambda e: e.opened_on, "agency", "project")
_keep(CaseTransferred, lambda e: e.transferred_on, "from_agency", "to_agency")
_keep(CaseManagerAssigned, lambda e: e.assigned_on, "case_manager")
_keep(CaseHandedOver, lambda e: e.handed_over_on, "from_case_manager", "to_case_manager")
_keep(PhaseEntered, lambda e: e.entered_on, "phase")
_keep(PhaseCompleted, lambda e: e.completed_on, "phase")
_keep(ParticipationInterrupted, lambda e: e.interrupted_on)
_keep(ParticipationResumed, lambda e: e.resumed_on)
_keep(InterventionStarted, lambda e: e.started_on, "intervention_id", "category")
_keep(InterventionCompleted, lambda e: e.completed_on, "intervention_id", "category")
_keep(InterventionAborted, lambda e: e.aborted_on, "intervention_id", "category")
_keep(RehabApplicationFiled, lambda e: e.filed_on, "application_id", "kind")
_keep(RehabApplicationDecided, lambda e: e.decided_on, "application_id", "approved")
_keep(ParticipantExited, lambda e: e.exited_on, "reason", "last_phase")
_keep(WorkTrialStarted, lambda e: e.started_on, "trial_id")
_keep(WorkTrialCompleted, lambda e: e.completed_on, "trial_id", "outcome")
_keep(WorkTrialAborted, lambda e: e.aborted_on, "trial_id")
_keep(
    EmploymentStarted,
    lambda e: e.started_on,
    "employment_id", "agency", "project", "type", "subsidised", "fully_qualifying",
)  # fmt: skip
_keep(EmploymentEnded, lambda e: e.ended_on, "employment_id")
_keep(EmploymentStatusVerified, lambda e: e.verified_on, "employment_id", "months_after_start", "still_employed")
_keep(
    SelfFoundEmploymentRecorded,
    lambda e: e.started_on,
    "employment_id", "agency", "project", "type", "subsidy", "fully_qualifying",
)  # fmt: skip
_keep(SelfFoundEmploymentEnded, lambda e: e.ended_on, "employment_id")
_keep(SelfFoundEmploymentVerified, lambda e: e.verified_on, "employment_id", "months_after_start", "still_employed")
_keep(WageSubsidyGranted, lambda e: e.granted_on, "subsidy_id", "employment_id", "instrument")

# the type names of the kept contracts (what tests count rows by)
FACT_TYPES = frozenset(cls.event_type for cls in KEPT)

# Erased participants keep contributing to aggregates under an id nobody can link back.
ERASED_NAMESPACE = uuid.UUID("7d0f3c39-5d1e-4c55-9a59-2a4f8c3e8e61")

Consent = ConsentGranted | ConsentWithdrawn | ConsentExpired


def reduce(event: DomainEvent) -> tuple[date, dict[str, Any]]:
    """The business date and the kept, non-identifying fields (JSON values) of one event."""
    kept = KEPT[type(event)]
    if isinstance(event, Consent) and event.purpose != ConsentPurpose.DRV_EXCHANGE:
        event = event.model_copy(update={"scope": None})  # a medical-release scope names a doctor
    return kept.on(event), event.model_dump(mode="json", include=set(kept.fields))


@cache
def _field(cls: type[DomainEvent], name: str) -> TypeAdapter[Any]:
    annotation = cls.model_fields[name].annotation
    assert annotation is not None  # pydantic resolves every contract field's type
    return TypeAdapter(annotation)


@cache
def _factories(cls: type[DomainEvent]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """The fields of ``cls`` with a default factory. ``model_construct`` would call each one a
    fact lacks, after asking ``inspect.signature`` whether it takes the validated data (pydantic
    2.14 does not remember the answer): ~0.3 ms per fact for ``list``, most of a fold's time."""
    out: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            if info.default_factory_takes_validated_data:
                raise TypeError(f"{cls.__name__}.{name}: a default factory of the validated data")
            out.append((name, cast("Callable[[], Any]", info.default_factory)))
    return tuple(out)


def restore(event_type: str, data: Mapping[str, Any]) -> DomainEvent:
    """A fact's kept fields back as an instance of its contract, each field validated into its
    type. The fields the projection does not keep are absent (reading one is an error), but
    those with a default factory, which get a fresh default as ``model_construct`` gives them
    (called here, the fields set stay the kept ones)."""
    cls = registry.model(event_type)
    values = {name: _field(cls, name).validate_python(value) for name, value in data.items()}
    for name, factory in _factories(cls):
        if name not in values:
            values[name] = factory()
    return cls.model_construct(_fields_set=set(data), **values)


@runtime_checkable
class _OfParticipant(Protocol):
    @property
    def participant_id(self) -> uuid.UUID: ...


@runtime_checkable
class _OfCase(Protocol):
    @property
    def case_id(self) -> uuid.UUID: ...


def participant_of(event: DomainEvent) -> uuid.UUID | None:
    """Whose fact it is: the participant named, else the case's (its id is the participant's)."""
    if isinstance(event, _OfParticipant):
        return event.participant_id
    if isinstance(event, _OfCase):
        return event.case_id
    return None


_INSERT_FACTS = """
INSERT INTO facts (event_id, event_type, recorded_at, participant_id, on_date, data)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[], $5::date[], $6::jsonb[])
ON CONFLICT (event_id) DO NOTHING
"""
# a fact row as ``decode_fact`` reads it
FACT_COLUMNS = "event_id::text AS id, event_type, recorded_at, participant_id::text AS pid, on_date, data::text AS data"
_PSEUDONYMISE = "UPDATE facts SET participant_id = $2 WHERE participant_id = $1"
_REMEMBER_ERASED = "INSERT INTO erased_participants (participant_key, pseudonym) VALUES ($1, $2) ON CONFLICT DO NOTHING"
_ERASED = "SELECT participant_key, pseudonym FROM erased_participants WHERE participant_key = ANY($1::bytea[])"

Row = tuple[uuid.UUID, str, datetime, uuid.UUID | None, date, str]


@facts.on_batch(*KEPT)
async def record(conn: Conn, batch: list[Recorded[DomainEvent]]) -> None:
    """One INSERT for a run of events (replays apply ~10x faster than row by row); an erasure
    flushes the rows so far and pseudonymises the person's rows. Then the journeys of everyone
    the run touched are folded again from their facts (``refold``). Four statements for a run
    without an erasure: the people locked (with some of an upgrade's backlog), the erased among
    them, the facts inserted and every fact of the people read back, their journeys written."""
    people = _people(batch)
    locked = await _take_and_lock(conn, people)
    erased = await _already_erased(conn, people)
    if any(isinstance(rec.payload, ParticipantDataErased) for rec in batch):
        erased = await _store(conn, batch, erased)
        await refold(conn, locked | set(erased.values()))
        return
    touched = locked | set(erased.values())
    rows = _rows(batch, erased)
    known = [decode_fact(r) for r in await conn.fetch(_INSERT_AND_READ, *columns(rows, 6), list(touched))]
    await refold(conn, touched, known)


@facts.on_replay(*KEPT)
async def record_replayed(conn: Conn, batch: list[Recorded[DomainEvent]]) -> None:
    """A rebuild's replay: the facts only. Its last step (``refold_all``) folds every journey
    once, from all the facts; folding the touched ones per batch too would be wasted work (and
    the per-person locks, which only order those folds, are not needed either)."""
    await _store(conn, batch, await _already_erased(conn, _people(batch)))


def _people(batch: list[Recorded[DomainEvent]]) -> set[uuid.UUID]:
    return {p for rec in batch if (p := participant_of(rec.payload)) is not None}


async def _store(
    conn: Conn, batch: list[Recorded[DomainEvent]], erased: dict[uuid.UUID, uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The run's facts inserted, erasures applied on the way: ``erased`` (the run's people
    erased before it, with their pseudonyms) with those this run erases."""
    erased = dict(erased)
    rows: list[Row] = []
    for rec in batch:
        rows += _rows([rec], erased)
        if isinstance(rec.payload, ParticipantDataErased):
            await _insert(conn, rows)
            rows = []
            erased[rec.payload.participant_id] = await _erase(conn, rec.payload.participant_id, rec.event_id)
    await _insert(conn, rows)
    return erased


def _rows(batch: list[Recorded[DomainEvent]], erased: dict[uuid.UUID, uuid.UUID]) -> list[Row]:
    """The facts of these events; the erased among their people under their pseudonyms (the
    erasure may have overtaken an event: the person stays unlinked)."""
    out: list[Row] = []
    for rec in batch:
        on, data = reduce(rec.payload)
        named = participant_of(rec.payload)
        participant = erased.get(named, named) if named is not None else None
        out.append((rec.event_id, rec.event_type, rec.recorded_at, participant, on, orjson.dumps(data).decode()))
    return out


async def _insert(conn: Conn, rows: list[Row]) -> None:
    if rows:
        await conn.execute(_INSERT_FACTS, *columns(rows))


async def _erase(conn: Conn, participant: uuid.UUID, erasure: uuid.UUID) -> uuid.UUID:
    """Forget the person: the pseudonymous id is replaced (deterministically, so a replay yields
    the same rows); figures stay, nothing links them to the participant any more. Idempotent (a
    parallel rebuild applies erasures once more at the end)."""
    pseudonym = uuid.uuid5(ERASED_NAMESPACE, str(erasure))
    await conn.execute(_PSEUDONYMISE, participant, pseudonym)
    await conn.execute(_REMEMBER_ERASED, erasure_key(participant), pseudonym)
    return pseudonym


def erasure_key(participant_id: uuid.UUID) -> bytes:
    """How the projection remembers an erased participant without keeping the id: a hash. The
    id is a random UUID that also stays in the (immutable) event history; the hash only lets
    someone who already has the id find the pseudonym, which that history allows anyway."""
    return hashlib.sha256(b"rehapro-erased-participant:" + participant_id.bytes).digest()


async def _already_erased(conn: Conn, people: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Of these participants, the erased ones and their pseudonyms."""
    if not people:
        return {}
    by_key = {erasure_key(p): p for p in people}
    rows = await conn.fetch(_ERASED, list(by_key))
    return {by_key[bytes(r["participant_key"])]: r["pseudonym"] for r in rows}


# --- journeys (in the facts projection's schema) ------------------------------------------------

# A participant's facts may come from three topics, applied by different batches (a parallel
# rebuild's workers too): a transaction lock per person, taken in sorted order before anything
# of theirs is read, makes the next batch's fold see this one's committed facts.
# The batch's people ($1) with up to $2 of an upgrade's backlog (taken off it, folded anyway),
# each locked, in the order of their ids; the locked ids are returned.
_TAKE_AND_LOCK = """
WITH taken AS (
    DELETE FROM journeys_pending WHERE participant_id = ANY($1::uuid[]) OR participant_id IN
    (SELECT participant_id FROM journeys_pending LIMIT $2) RETURNING participant_id
), people AS (
    SELECT p::text AS p FROM unnest($1::uuid[]) AS p UNION SELECT participant_id::text FROM taken
)
SELECT p::uuid AS participant_id, pg_advisory_xact_lock(hashtextextended(current_schema() || ':journey:' || p, 0))
FROM (SELECT p FROM people ORDER BY p) AS sorted
"""
_FACTS_OF = f"SELECT {FACT_COLUMNS} FROM facts WHERE participant_id = ANY($1::uuid[])"
PENDING_PER_BATCH = 2000
# A run's facts inserted ($1-$6), and every fact of the people $7 read back: those committed
# before (the statement's snapshot, taken once their locks are held) and those it inserts.
_INSERT_AND_READ = f"""
WITH inserted AS ({_INSERT_FACTS} RETURNING event_id, event_type, recorded_at, participant_id, on_date, data)
SELECT {FACT_COLUMNS} FROM facts WHERE participant_id = ANY($7::uuid[])
UNION ALL
SELECT {FACT_COLUMNS} FROM inserted WHERE participant_id = ANY($7::uuid[])
"""
# share $1 of $2 of the people (a rebuild's last step split over its workers)
_OF_SHARE = "(hashtext(participant_id::text) & 2147483647) % $2 = $1"
_PEOPLE_OF_SHARE = f"SELECT DISTINCT participant_id FROM facts WHERE participant_id IS NOT NULL AND {_OF_SHARE}"
_CLEAR_JOURNEYS = f"DELETE FROM journeys WHERE {_OF_SHARE}"
_CLEAR_PENDING = f"DELETE FROM journeys_pending WHERE {_OF_SHARE}"
# The journeys of the people $5 as folded ($1-$4); those of them left without facts are gone.
_PUT_JOURNEYS = """
WITH gone AS (
    DELETE FROM journeys WHERE participant_id = ANY($5::uuid[]) AND NOT participant_id = ANY($1::uuid[])
)
INSERT INTO journeys (participant_id, first_recorded_at, first_event_id, data)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::jsonb[])
ON CONFLICT (participant_id) DO UPDATE SET first_recorded_at = excluded.first_recorded_at,
    first_event_id = excluded.first_event_id, data = excluded.data
"""
JOURNEY = TypeAdapter(Journey)
# people re-folded per statement by ``refold_all`` (a rebuild's last step)
REFOLD_CHUNK = 2000


def decode_fact(row: asyncpg.Record) -> Fact:
    """A row of ``facts`` (id, event_type, recorded_at, pid, on_date, data as JSON text) as a
    typed fact."""
    data = orjson.loads(row["data"])
    return Fact(row["id"], row["recorded_at"], row["pid"], row["on_date"], restore(row["event_type"], data))


async def _take_and_lock(conn: Conn, people: set[uuid.UUID]) -> set[uuid.UUID]:
    """The batch's people and up to ``PENDING_PER_BATCH`` participants whose journeys an
    upgrade left to fold (``journeys_pending``, taken off it), each locked; those ids."""
    rows = await conn.fetch(_TAKE_AND_LOCK, list(people), PENDING_PER_BATCH)
    return {r["participant_id"] for r in rows}


async def refold(conn: Conn, people: set[uuid.UUID], known: list[Fact] | None = None) -> None:
    """These participants' journeys folded again from all their facts (``known``: read by the
    caller already), by the very fold a request of the past uses (``journey.build_participants``;
    it folds each person apart), so the maintained journey is what folding every fact would
    give. A person without facts any more (erased: the facts moved to the pseudonym) loses the
    row."""
    if not people:
        return
    ids = list(people)
    if known is None:
        known = [decode_fact(r) for r in await conn.fetch(_FACTS_OF, ids)]
    folded = journey.build_participants(known)
    first = _first_facts(known)
    rows = [
        (uuid.UUID(pid), first[pid].recorded_at, uuid.UUID(first[pid].event_id), JOURNEY.dump_json(j).decode())
        for pid, j in sorted(folded.items())
    ]
    await conn.execute(_PUT_JOURNEYS, *columns(rows, 4), ids)


def _first_facts(facts: list[Fact]) -> dict[str, Fact]:
    """Each participant's first fact in the fold's order (what orders the journeys as the fold does)."""
    out: dict[str, Fact] = {}
    for f in sorted(facts, key=lambda f: (f.recorded_at, f.event_id)):
        if f.participant_id is not None:
            out.setdefault(f.participant_id, f)
    return out


@facts.on_rebuilt
async def refold_all(conn: Conn, share: Segment = (0, 1)) -> None:
    """Every journey (of the share's people: k of n by a hash of the id) folded again: a
    rebuild's last step (``after_rebuild``), after a replay that stored the facts only
    (``record_replayed``). A person is folded from their own facts alone, so the shares never
    meet, and n workers fold at once."""
    people = [r["participant_id"] for r in await conn.fetch(_PEOPLE_OF_SHARE, *share)]
    await conn.execute(_CLEAR_JOURNEYS, *share)
    await conn.execute(_CLEAR_PENDING, *share)
    for start in range(0, len(people), REFOLD_CHUNK):
        await refold(conn, set(people[start : start + REFOLD_CHUNK]))


# --- plans -------------------------------------------------------------------------------------

# A project's plan (target, budget) from casework's ProjectConfigured, and what counts against
# it: enrolments, interventions' costs, wage subsidies. Rows carry the project of the event's
# envelope (interventions and subsidies name none in their payload); an event without one
# belongs to no project and is left out.
plans = Projection(
    name="plans",
    sql=migrations(__file__, "projections", "plans"),
    topics=["intake", "casework", "placement"],
    stream_local=True,
    cross_stream=frozenset({ParticipantDataErased}),
)

_UPSERT_PLAN = """
INSERT INTO project_plans (project, coordinating_agency, partner_agencies, starts_on, ends_on,
                           participant_target, budget, caseload_cap, configured_on)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
ON CONFLICT (project) DO UPDATE SET coordinating_agency = excluded.coordinating_agency,
    partner_agencies = excluded.partner_agencies, starts_on = excluded.starts_on, ends_on = excluded.ends_on,
    participant_target = excluded.participant_target, budget = excluded.budget,
    caseload_cap = excluded.caseload_cap, configured_on = excluded.configured_on
"""
_ENROLMENT = (
    "INSERT INTO plan_enrolments (event_id, project, agency, enrolled_on) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (event_id) DO NOTHING"
)
_INTERVENTION_PLANNED = (
    "INSERT INTO plan_interventions (intervention_id, project, agency, participant_key, category, planned_cost)"
    " SELECT $1::uuid, $2::text, $3::text, $4::bytea, $5::text, $6::numeric WHERE $2::text IS NOT NULL"
    " ON CONFLICT (intervention_id) DO UPDATE SET planned_cost = excluded.planned_cost"
)
_INTERVENTION_COMPLETED = "UPDATE plan_interventions SET completed_on = $2, cost = $3 WHERE intervention_id = $1"
_INTERVENTION_ABORTED = "DELETE FROM plan_interventions WHERE intervention_id = $1 AND completed_on IS NULL"
_SUBSIDY = (
    "INSERT INTO plan_subsidies (subsidy_id, project, agency, participant_key, instrument, granted_on, months)"
    " SELECT $1::uuid, $2::text, $3::text, $4::bytea, $5::text, $6::date, $7::integer WHERE $2::text IS NOT NULL"
    " ON CONFLICT (subsidy_id) DO NOTHING"
)


def _budget(rec: Recorded[ProjectConfigured]) -> str:
    return orjson.dumps([line.model_dump(mode="json") for line in rec.payload.budget]).decode()


def _key_of_case(rec: Recorded[InterventionPlanned]) -> bytes:
    return erasure_key(rec.payload.case_id)


def _key_of_participant(rec: Recorded[WageSubsidyGranted]) -> bytes:
    return erasure_key(rec.payload.participant_id)


def _envelope_project(rec: Recorded[Any]) -> str | None:
    return rec.project


statement(
    plans,
    ProjectConfigured,
    _UPSERT_PLAN,
    "project",
    "coordinating_agency",
    "partner_agencies",
    "starts_on",
    "ends_on",
    "participant_target",
    _budget,
    "caseload_cap",
    "configured_on",
)
statement(plans, ParticipantEnrolled, _ENROLMENT, lambda rec: rec.event_id, "project", "agency", "start_date")
statement(
    plans,
    InterventionPlanned,
    _INTERVENTION_PLANNED,
    "intervention_id",
    _envelope_project,
    recorded_agency,
    _key_of_case,
    "category",
    "cost_eur",
)
statement(plans, InterventionCompleted, _INTERVENTION_COMPLETED, "intervention_id", "completed_on", "cost_eur")
statement(plans, InterventionAborted, _INTERVENTION_ABORTED, "intervention_id")
statement(
    plans,
    WageSubsidyGranted,
    _SUBSIDY,
    "subsidy_id",
    _envelope_project,
    recorded_agency,
    _key_of_participant,
    "instrument",
    "granted_on",
    "months",
)


@plans.on(ParticipantDataErased)
async def forget_in_plans(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    """The erased person's costs keep counting under a key nobody can link back (the same
    pseudonym as the facts'); doing it again changes nothing."""
    pseudonym = erasure_key(uuid.uuid5(ERASED_NAMESPACE, str(rec.event_id)))
    for table in ("plan_interventions", "plan_subsidies"):
        await conn.execute(_FORGET_KEYS[table], erasure_key(rec.payload.participant_id), pseudonym)


_FORGET_KEYS = {
    table: f"UPDATE {table} SET participant_key = $2 WHERE participant_key = $1"
    for table in ("plan_interventions", "plan_subsidies")
}
