"""The ``facts`` read model: every KPI-relevant event of intake, casework and placement,
reduced to its business date, its source recording time and non-identifying codes.

KPIs are computed from these rows by the pure ``kpis`` module. Sealed fields never get here;
consent scopes are kept only for drv-exchange (a medical-release scope names a doctor).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from shared.contracts import registry
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

# Rows come from their own event; a case event joins its participant through the CaseOpened
# fact of the same (case) stream. Only an erasure reaches across streams (it pseudonymises the
# person's rows from every topic), and doing it again changes nothing: a parallel rebuild may
# split the streams and re-apply erasures at the end.
facts = Projection(
    name="facts",
    sql=sorted((Path(__file__).parent / "sql" / "facts").glob("*.sql")),
    topics=["intake", "casework", "placement"],
    stream_local=True,
    cross_stream=frozenset({"ParticipantDataErased"}),
)

# event type -> (field holding the business date, fields kept)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ReferralReceived": ("received_on", ("source_agency", "project", "age_band", "sex")),
    "EligibilityChecked": ("checked_on", ("eligible",)),
    "ParticipantEnrolled": ("start_date", ("agency", "project", "age_band", "sex")),
    "EnrolmentDeclined": ("declined_on", ()),
    "ReferralWithdrawn": ("withdrawn_on", ()),
    "ConsentGranted": ("granted_on", ("consent_id", "purpose", "scope", "expires_on")),
    "ConsentWithdrawn": ("effective_on", ("consent_id", "purpose", "scope")),
    "ConsentExpired": ("expired_on", ("consent_id", "purpose", "scope")),
    "ParticipantDataErased": ("erased_on", ()),
    "CaseOpened": ("opened_on", ("agency", "project")),
    "CaseManagerAssigned": ("assigned_on", ("case_manager",)),
    "CaseHandedOver": ("handed_over_on", ("from_case_manager", "to_case_manager")),
    "PhaseEntered": ("entered_on", ("phase",)),
    "PhaseCompleted": ("completed_on", ("phase",)),
    "ParticipationInterrupted": ("interrupted_on", ()),
    "ParticipationResumed": ("resumed_on", ()),
    "InterventionStarted": ("started_on", ("intervention_id", "category")),
    "InterventionCompleted": ("completed_on", ("intervention_id", "category")),
    "InterventionAborted": ("aborted_on", ("intervention_id", "category")),
    "RehabApplicationFiled": ("filed_on", ("application_id", "kind")),
    "RehabApplicationDecided": ("decided_on", ("application_id", "approved")),
    "ParticipantExited": ("exited_on", ("reason", "last_phase")),
    "WorkTrialStarted": ("started_on", ("trial_id",)),
    "WorkTrialCompleted": ("completed_on", ("trial_id", "outcome")),
    "WorkTrialAborted": ("aborted_on", ("trial_id",)),
    "EmploymentStarted": (
        "started_on",
        ("employment_id", "agency", "project", "type", "subsidised", "fully_qualifying"),
    ),
    "EmploymentEnded": ("ended_on", ("employment_id",)),
    "EmploymentStatusVerified": ("verified_on", ("employment_id", "months_after_start", "still_employed")),
}

# Erased participants keep contributing to aggregates under an id nobody can link back.
ERASED_NAMESPACE = uuid.UUID("7d0f3c39-5d1e-4c55-9a59-2a4f8c3e8e61")


def extract(env: Envelope) -> dict[str, Any]:
    """The payload upcast to its current schema (raw if the contract is not known here yet)."""
    if registry.knows(env.event_type):
        return registry.upcast(env.event_type, env.schema_version, dict(env.payload))
    return dict(env.payload)


def reduce(event_type: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The business date (ISO) and the kept, non-identifying fields of one event."""
    date_field, kept = FIELDS[event_type]
    data = {k: payload.get(k) for k in kept}
    if data.get("purpose") not in (None, "drv-exchange"):
        data["scope"] = None
    return str(payload[date_field]), data


_INSERT = """
INSERT INTO facts (event_id, event_type, recorded_at, participant_id, case_id, on_date, data)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::date[], $7::jsonb[])
ON CONFLICT (event_id) DO NOTHING
"""


@facts.on_batch(*FIELDS)
async def record(conn: Conn, envs: list[Envelope]) -> None:
    """One INSERT for a run of events (replays apply ~10x faster than row by row). Case events
    find their participant through the CaseOpened fact, in this run or already stored."""
    rows: list[tuple[uuid.UUID, str, datetime, uuid.UUID | None, uuid.UUID | None, date, str]] = []
    reduced = []
    for env in envs:
        payload = extract(env)
        on_date, data = reduce(env.event_type, payload)
        case_id = payload.get("case_id")
        reduced.append((env, payload, on_date, data, uuid.UUID(case_id) if case_id else None))
    wanted = {c for env, p, _, _, c in reduced if c is not None and p.get("participant_id") is None}
    case_owner: dict[uuid.UUID, uuid.UUID] = {}
    if wanted:
        for r in await conn.fetch(
            "SELECT case_id, participant_id FROM facts WHERE event_type = 'CaseOpened' AND case_id = ANY($1::uuid[])",
            list(wanted),
        ):
            case_owner[r["case_id"]] = r["participant_id"]

    people = {uuid.UUID(str(p["participant_id"])) for _, p, _, _, _ in reduced if p.get("participant_id")}
    erased = await _already_erased(conn, people | set(case_owner.values()))

    async def flush() -> None:
        if rows:
            await conn.execute(_INSERT, *(list(col) for col in zip(*rows, strict=True)))
            rows.clear()

    for env, payload, on_date, data, case_id in reduced:
        raw = payload.get("participant_id")
        named = uuid.UUID(str(raw)) if raw else None
        if env.event_type == "CaseOpened" and case_id is not None and named is not None:
            case_owner.setdefault(case_id, named)
        participant_id = named if named is not None else case_owner.get(case_id) if case_id else None
        if participant_id in erased:  # the erasure overtook this event: the person stays unlinked
            participant_id = erased[participant_id]
        rows.append(
            (
                env.event_id,
                env.event_type,
                env.recorded_at,
                participant_id,
                case_id,
                date.fromisoformat(on_date[:10]),
                orjson.dumps(data).decode(),
            )
        )
        if env.event_type == "ParticipantDataErased" and named:
            # forget the person: the pseudonymous id is replaced (deterministically, so a replay
            # yields the same rows); figures stay, nothing links them to the participant any more.
            # Idempotent (a parallel rebuild applies erasures once more at the end).
            await flush()
            pseudonym = uuid.uuid5(ERASED_NAMESPACE, str(env.event_id))
            await conn.execute("UPDATE facts SET participant_id = $2 WHERE participant_id = $1", named, pseudonym)
            await conn.execute(
                "INSERT INTO erased_participants (participant_key, pseudonym) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                erasure_key(named),
                pseudonym,
            )
            erased[named] = pseudonym
            for known_case, owner in list(case_owner.items()):
                if owner == named:
                    case_owner[known_case] = pseudonym
    await flush()


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
    rows = await conn.fetch(
        "SELECT participant_key, pseudonym FROM erased_participants WHERE participant_key = ANY($1::bytea[])",
        list(by_key),
    )
    return {by_key[bytes(r["participant_key"])]: r["pseudonym"] for r in rows}
