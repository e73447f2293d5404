"""placement's read models: the board (from its own topic) and drv-exchange access (from intake).

Both can be rebuilt from the topics at any time. A withdrawn candidate's row leaves the pool
and their open proposals turn void in the same transaction; on erasure every row about the
person is deleted.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import UUID

import orjson

from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn, ParticipantDataErased
from shared.contracts.placement import (
    AftercareEnded,
    AftercareStarted,
    CandidateProfilePublished,
    CandidateProfileWithdrawn,
    CandidateProposed,
    EmployerAcquired,
    EmployerContactDataErased,
    EmployerContactLogged,
    EmploymentEnded,
    EmploymentStarted,
    EmploymentStatusVerified,
    ProductionOrderAccepted,
    ProductionOrderCompleted,
    ProposalDeclined,
    VacancyClosed,
    VacancyRecorded,
    WageSubsidyGranted,
    WorkplaceAdaptationRequested,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)
from shared.crypto import SubjectKeys
from shared.db import Conn
from shared.projections import Projection
from shared.recorded import Recorded

_SQL = Path(__file__).parent / "sql" / "projections"

board = Projection(name="board", sql=sorted((_SQL / "board").glob("*.sql")), topics=["placement"])
# Rows per participant, from that participant's own stream (consents, erasure): stream-local.
access = Projection(name="access", sql=sorted((_SQL / "access").glob("*.sql")), topics=["intake"], stream_local=True)

PARTICIPANT_TABLES = (
    "candidates",
    "proposals",
    "work_trials",
    "adaptation_requests",
    "wage_subsidies",
    "employments",
    "follow_ups",
)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


# --- employers, vacancies, orders ------------------------------------------------------------


@board.on(EmployerAcquired)
async def employer_acquired(conn: Conn, rec: Recorded[EmployerAcquired]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO employers (employer_id, agency, company, sector, size, region, sealed_contacts,"
        " offers_work_trials, offers_adapted_workplaces, acquired_on)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (employer_id) DO NOTHING",
        e.employer_id,
        e.agency,
        e.company,
        e.sector,
        e.size,
        e.region,
        e.sealed_contacts,
        e.offers_work_trials,
        e.offers_adapted_workplaces,
        e.acquired_on,
    )


@board.on(EmployerContactLogged)
async def contact_logged(conn: Conn, rec: Recorded[EmployerContactLogged]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO employer_contacts (contact_id, employer_id, agency, contacted_on, channel, topic, sealed_notes,"
        " next_contact_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contact_id) DO NOTHING",
        e.contact_id,
        e.employer_id,
        rec.agency,
        e.contacted_on,
        e.channel,
        e.topic,
        e.sealed_notes,
        e.next_contact_on,
    )
    await conn.execute(
        "UPDATE employers SET last_contact_on = GREATEST(last_contact_on, $2), next_contact_on = $3"
        " WHERE employer_id = $1",
        e.employer_id,
        e.contacted_on,
        e.next_contact_on,
    )


@board.on(EmployerContactDataErased)
async def contacts_erased(conn: Conn, rec: Recorded[EmployerContactDataErased]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE employers SET contacts_erased = true, sealed_contacts = '' WHERE employer_id = $1", e.employer_id
    )
    await conn.execute("UPDATE employer_contacts SET sealed_notes = '' WHERE employer_id = $1", e.employer_id)


@board.on(VacancyRecorded)
async def vacancy_recorded(conn: Conn, rec: Recorded[VacancyRecorded]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO vacancies (vacancy_id, employer_id, agency, title, tasks, hours_per_week, flexible_hours,"
        " demands, possible_adaptations, positions, status, recorded_on)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11) ON CONFLICT (vacancy_id) DO NOTHING",
        e.vacancy_id,
        e.employer_id,
        e.agency,
        e.title,
        e.tasks,
        e.hours_per_week,
        e.flexible_hours,
        _json(e.demands.model_dump(mode="json")),
        _json(e.possible_adaptations),
        e.positions,
        e.recorded_on,
    )


@board.on(VacancyClosed)
async def vacancy_closed(conn: Conn, rec: Recorded[VacancyClosed]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE vacancies SET status = 'closed', closed_on = $2, close_reason = $3 WHERE vacancy_id = $1",
        e.vacancy_id,
        e.closed_on,
        e.reason,
    )


@board.on(ProductionOrderAccepted)
async def order_accepted(conn: Conn, rec: Recorded[ProductionOrderAccepted]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO production_orders (order_id, employer_id, agency, description, quantity, accepted_on, due_on,"
        " status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted') ON CONFLICT (order_id) DO NOTHING",
        e.order_id,
        e.employer_id,
        e.agency,
        e.description,
        e.quantity,
        e.accepted_on,
        e.due_on,
    )


@board.on(ProductionOrderCompleted)
async def order_completed(conn: Conn, rec: Recorded[ProductionOrderCompleted]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE production_orders SET status = 'completed', completed_on = $2, delivered_quantity = $3"
        " WHERE order_id = $1",
        e.order_id,
        e.completed_on,
        e.delivered_quantity,
    )


# --- candidate pool and journey --------------------------------------------------------------


@board.on(CandidateProfilePublished)
async def published(conn: Conn, rec: Recorded[CandidateProfilePublished]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO candidates (participant_id, agency, project, profile, published_on) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (participant_id) DO UPDATE SET agency = excluded.agency, project = excluded.project,"
        " profile = excluded.profile, published_on = excluded.published_on",
        e.participant_id,
        e.agency,
        e.project,
        _json(e.profile.model_dump(mode="json")),
        e.published_on,
    )


@board.on(CandidateProfileWithdrawn)
async def withdrawn(conn: Conn, rec: Recorded[CandidateProfileWithdrawn]) -> None:
    e = rec.payload
    if e.reason == "data-erased":
        for table in PARTICIPANT_TABLES:
            await conn.execute(f"DELETE FROM {table} WHERE participant_id = $1", e.participant_id)
        return
    await conn.execute("DELETE FROM candidates WHERE participant_id = $1", e.participant_id)
    await conn.execute(
        "UPDATE proposals SET status = 'void', reason = $2 WHERE proposal_id = ANY($1::uuid[])",
        e.voided_proposals,
        e.reason,
    )


@board.on(CandidateProposed)
async def proposed(conn: Conn, rec: Recorded[CandidateProposed]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO proposals (proposal_id, participant_id, vacancy_id, employer_id, agency, proposed_on,"
        " match_score, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (proposal_id) DO NOTHING",
        e.proposal_id,
        e.participant_id,
        e.vacancy_id,
        e.employer_id,
        rec.agency,
        e.proposed_on,
        e.match_score,
    )


@board.on(ProposalDeclined)
async def declined(conn: Conn, rec: Recorded[ProposalDeclined]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE proposals SET status = 'declined', declined_by = $2, reason = $3 WHERE proposal_id = $1",
        e.proposal_id,
        e.by,
        e.reason,
    )


@board.on(WorkTrialStarted)
async def trial_started(conn: Conn, rec: Recorded[WorkTrialStarted]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO work_trials (trial_id, participant_id, employer_id, vacancy_id, agency, started_on, planned_end,"
        " status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') ON CONFLICT (trial_id) DO NOTHING",
        e.trial_id,
        e.participant_id,
        e.employer_id,
        e.vacancy_id,
        rec.agency,
        e.started_on,
        e.planned_end,
    )
    if e.vacancy_id is not None:
        await conn.execute(
            "UPDATE proposals SET status = 'trial' WHERE participant_id = $1 AND vacancy_id = $2 AND status = 'open'",
            e.participant_id,
            e.vacancy_id,
        )


@board.on(WorkTrialCompleted)
async def trial_completed(conn: Conn, rec: Recorded[WorkTrialCompleted]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE work_trials SET status = 'completed', ended_on = $2, outcome = $3 WHERE trial_id = $1",
        e.trial_id,
        e.completed_on,
        e.outcome,
    )


@board.on(WorkTrialAborted)
async def trial_aborted(conn: Conn, rec: Recorded[WorkTrialAborted]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE work_trials SET status = 'aborted', ended_on = $2, reason = $3 WHERE trial_id = $1",
        e.trial_id,
        e.aborted_on,
        e.reason,
    )


@board.on(WorkplaceAdaptationRequested)
async def adaptation(conn: Conn, rec: Recorded[WorkplaceAdaptationRequested]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO adaptation_requests (request_id, participant_id, employer_id, agency, adaptation, requested_on,"
        " funding, sealed_adaptation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id) DO NOTHING",
        e.request_id,
        e.participant_id,
        e.employer_id,
        rec.agency,
        e.adaptation,  # v1 only; v2 rows keep the ciphertext (opened by the views)
        e.requested_on,
        e.funding,
        e.sealed_adaptation,
    )


@board.on(WageSubsidyGranted)
async def subsidy(conn: Conn, rec: Recorded[WageSubsidyGranted]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO wage_subsidies (subsidy_id, participant_id, employment_id, agency, instrument, granted_on,"
        " months, percent_first_year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subsidy_id) DO NOTHING",
        e.subsidy_id,
        e.participant_id,
        e.employment_id,
        rec.agency,
        e.instrument,
        e.granted_on,
        e.months,
        e.percent_first_year,
    )


@board.on(EmploymentStarted)
async def employment_started(conn: Conn, rec: Recorded[EmploymentStarted]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO employments (employment_id, participant_id, employer_id, agency, project, type, subsidised,"
        " fully_qualifying, hours_per_week, started_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (employment_id) DO NOTHING",
        e.employment_id,
        e.participant_id,
        e.employer_id,
        e.agency,
        e.project,
        e.type.value,
        e.subsidised,
        e.fully_qualifying,
        e.hours_per_week,
        e.started_on,
    )
    if e.employer_id is not None:
        await conn.execute(
            "UPDATE proposals SET status = 'employed'"
            " WHERE participant_id = $1 AND employer_id = $2 AND status IN ('open', 'trial')",
            e.participant_id,
            e.employer_id,
        )


@board.on(EmploymentEnded)
async def employment_ended(conn: Conn, rec: Recorded[EmploymentEnded]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE employments SET ended_on = $2, end_reason = $3 WHERE employment_id = $1",
        e.employment_id,
        e.ended_on,
        e.reason,
    )


@board.on(AftercareStarted)
async def aftercare_started(conn: Conn, rec: Recorded[AftercareStarted]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE employments SET aftercare_started_on = $2 WHERE employment_id = $1", e.employment_id, e.started_on
    )


@board.on(AftercareEnded)
async def aftercare_ended(conn: Conn, rec: Recorded[AftercareEnded]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE employments SET aftercare_ended_on = $2 WHERE employment_id = $1", e.employment_id, e.ended_on
    )


@board.on(EmploymentStatusVerified)
async def status_verified(conn: Conn, rec: Recorded[EmploymentStatusVerified]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO follow_ups (employment_id, months, participant_id, verified_on, still_employed)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (employment_id, months) DO NOTHING",
        e.employment_id,
        e.months_after_start,
        e.participant_id,
        e.verified_on,
        e.still_employed,
    )


# --- drv-exchange consent (from intake) ------------------------------------------------------


@access.on_batch(ConsentGranted, ConsentWithdrawn, ConsentExpired)
async def drv_consents(conn: Conn, recs: list[Recorded[ConsentGranted | ConsentWithdrawn | ConsentExpired]]) -> None:
    """A run of consent events in two statements instead of one per event (replays).

    Same end state as applying them one by one: a grant inserts its row (with its grant and
    expiry dates) if it is missing, an end (withdrawal, expiry) upserts it inactive with the
    earliest end date seen. Per consent, the first event decides whether the grant's insert
    or the end's insert comes first; the grant insert runs before the end upsert. Whether a
    consent holds on a day is then ``consent_active(granted_on, expires_on, ended_on, day)``."""
    granted: dict[tuple[UUID, UUID], tuple[str | None, date, date | None]] = {}
    ended: dict[tuple[UUID, UUID], tuple[str | None, date]] = {}
    for rec in recs:
        e = rec.payload
        if e.purpose != ConsentPurpose.DRV_EXCHANGE:
            continue
        key = (e.participant_id, e.consent_id)
        if isinstance(e, ConsentGranted):
            if key not in ended:  # after an end the row exists: a grant changes nothing
                granted.setdefault(key, (e.scope, e.granted_on, e.expires_on))
        else:
            on = e.effective_on if isinstance(e, ConsentWithdrawn) else e.expired_on
            scope, first = ended.get(key, (e.scope, on))
            ended[key] = (scope, min(first, on))
    if granted:
        await conn.execute(
            _GRANT_DRV,
            [k[0] for k in granted],
            [k[1] for k in granted],
            [v[0] for v in granted.values()],
            [v[1] for v in granted.values()],
            [v[2] for v in granted.values()],
        )
    if ended:
        await conn.execute(
            _END_DRV,
            [k[0] for k in ended],
            [k[1] for k in ended],
            [v[0] for v in ended.values()],
            [v[1] for v in ended.values()],
        )


_GRANT_DRV = """
INSERT INTO drv_exchange_consents (participant_id, consent_id, scope, active, granted_on, expires_on)
SELECT p, c, s, true, g, x FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::date[]) AS t(p, c, s, g, x)
ON CONFLICT (participant_id, consent_id) DO NOTHING
"""
_END_DRV = """
INSERT INTO drv_exchange_consents (participant_id, consent_id, scope, active, ended_on)
SELECT p, c, s, false, d FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[]) AS t(p, c, s, d)
ON CONFLICT (participant_id, consent_id)
DO UPDATE SET active = false, ended_on = LEAST(drv_exchange_consents.ended_on, excluded.ended_on)
"""


_HAS_KEYS = "SELECT to_regclass('keys.subject_keys') IS NOT NULL"


@access.on(ParticipantDataErased)
async def drv_erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    """The person is erased: their consents go, and placement's key for them (what their
    workplace adaptations said becomes unreadable in placement's events)."""
    await conn.execute("DELETE FROM drv_exchange_consents WHERE participant_id = $1", rec.payload.participant_id)
    if await conn.fetchval(_HAS_KEYS):  # a bare projection database (rebuild, tests) holds no keys
        await SubjectKeys().erase(conn, str(rec.payload.participant_id))
