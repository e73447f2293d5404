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

from shared.contracts.base import registry
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
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

_SQL = Path(__file__).parent / "projections"

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


@board.on("EmployerAcquired")
async def employer_acquired(conn: Conn, env: Envelope) -> None:
    e = EmployerAcquired.model_validate(env.payload)
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


@board.on("EmployerContactLogged")
async def contact_logged(conn: Conn, env: Envelope) -> None:
    e = EmployerContactLogged.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO employer_contacts (contact_id, employer_id, agency, contacted_on, channel, topic, sealed_notes,"
        " next_contact_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contact_id) DO NOTHING",
        e.contact_id,
        e.employer_id,
        env.agency,
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


@board.on("EmployerContactDataErased")
async def contacts_erased(conn: Conn, env: Envelope) -> None:
    e = EmployerContactDataErased.model_validate(env.payload)
    await conn.execute(
        "UPDATE employers SET contacts_erased = true, sealed_contacts = '' WHERE employer_id = $1", e.employer_id
    )
    await conn.execute("UPDATE employer_contacts SET sealed_notes = '' WHERE employer_id = $1", e.employer_id)


@board.on("VacancyRecorded")
async def vacancy_recorded(conn: Conn, env: Envelope) -> None:
    e = VacancyRecorded.model_validate(env.payload)
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


@board.on("VacancyClosed")
async def vacancy_closed(conn: Conn, env: Envelope) -> None:
    e = VacancyClosed.model_validate(env.payload)
    await conn.execute(
        "UPDATE vacancies SET status = 'closed', closed_on = $2, close_reason = $3 WHERE vacancy_id = $1",
        e.vacancy_id,
        e.closed_on,
        e.reason,
    )


@board.on("ProductionOrderAccepted")
async def order_accepted(conn: Conn, env: Envelope) -> None:
    e = ProductionOrderAccepted.model_validate(env.payload)
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


@board.on("ProductionOrderCompleted")
async def order_completed(conn: Conn, env: Envelope) -> None:
    e = ProductionOrderCompleted.model_validate(env.payload)
    await conn.execute(
        "UPDATE production_orders SET status = 'completed', completed_on = $2, delivered_quantity = $3"
        " WHERE order_id = $1",
        e.order_id,
        e.completed_on,
        e.delivered_quantity,
    )


# --- candidate pool and journey --------------------------------------------------------------


@board.on("CandidateProfilePublished")
async def published(conn: Conn, env: Envelope) -> None:
    e = CandidateProfilePublished.model_validate(env.payload)
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


@board.on("CandidateProfileWithdrawn")
async def withdrawn(conn: Conn, env: Envelope) -> None:
    e = CandidateProfileWithdrawn.model_validate(env.payload)
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


@board.on("CandidateProposed")
async def proposed(conn: Conn, env: Envelope) -> None:
    e = CandidateProposed.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO proposals (proposal_id, participant_id, vacancy_id, employer_id, agency, proposed_on,"
        " match_score, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (proposal_id) DO NOTHING",
        e.proposal_id,
        e.participant_id,
        e.vacancy_id,
        e.employer_id,
        env.agency,
        e.proposed_on,
        e.match_score,
    )


@board.on("ProposalDeclined")
async def declined(conn: Conn, env: Envelope) -> None:
    e = ProposalDeclined.model_validate(env.payload)
    await conn.execute(
        "UPDATE proposals SET status = 'declined', declined_by = $2, reason = $3 WHERE proposal_id = $1",
        e.proposal_id,
        e.by,
        e.reason,
    )


@board.on("WorkTrialStarted")
async def trial_started(conn: Conn, env: Envelope) -> None:
    e = WorkTrialStarted.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO work_trials (trial_id, participant_id, employer_id, vacancy_id, agency, started_on, planned_end,"
        " status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') ON CONFLICT (trial_id) DO NOTHING",
        e.trial_id,
        e.participant_id,
        e.employer_id,
        e.vacancy_id,
        env.agency,
        e.started_on,
        e.planned_end,
    )
    if e.vacancy_id is not None:
        await conn.execute(
            "UPDATE proposals SET status = 'trial' WHERE participant_id = $1 AND vacancy_id = $2 AND status = 'open'",
            e.participant_id,
            e.vacancy_id,
        )


@board.on("WorkTrialCompleted")
async def trial_completed(conn: Conn, env: Envelope) -> None:
    e = WorkTrialCompleted.model_validate(env.payload)
    await conn.execute(
        "UPDATE work_trials SET status = 'completed', ended_on = $2, outcome = $3 WHERE trial_id = $1",
        e.trial_id,
        e.completed_on,
        e.outcome,
    )


@board.on("WorkTrialAborted")
async def trial_aborted(conn: Conn, env: Envelope) -> None:
    e = WorkTrialAborted.model_validate(env.payload)
    await conn.execute(
        "UPDATE work_trials SET status = 'aborted', ended_on = $2, reason = $3 WHERE trial_id = $1",
        e.trial_id,
        e.aborted_on,
        e.reason,
    )


@board.on("WorkplaceAdaptationRequested")
async def adaptation(conn: Conn, env: Envelope) -> None:
    e = WorkplaceAdaptationRequested.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO adaptation_requests (request_id, participant_id, employer_id, agency, adaptation, requested_on,"
        " funding) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_id) DO NOTHING",
        e.request_id,
        e.participant_id,
        e.employer_id,
        env.agency,
        e.adaptation,
        e.requested_on,
        e.funding,
    )


@board.on("WageSubsidyGranted")
async def subsidy(conn: Conn, env: Envelope) -> None:
    e = WageSubsidyGranted.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO wage_subsidies (subsidy_id, participant_id, employment_id, agency, instrument, granted_on,"
        " months, percent_first_year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subsidy_id) DO NOTHING",
        e.subsidy_id,
        e.participant_id,
        e.employment_id,
        env.agency,
        e.instrument,
        e.granted_on,
        e.months,
        e.percent_first_year,
    )


@board.on("EmploymentStarted")
async def employment_started(conn: Conn, env: Envelope) -> None:
    e = EmploymentStarted.model_validate(env.payload)
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


@board.on("EmploymentEnded")
async def employment_ended(conn: Conn, env: Envelope) -> None:
    e = EmploymentEnded.model_validate(env.payload)
    await conn.execute(
        "UPDATE employments SET ended_on = $2, end_reason = $3 WHERE employment_id = $1",
        e.employment_id,
        e.ended_on,
        e.reason,
    )


@board.on("AftercareStarted")
async def aftercare_started(conn: Conn, env: Envelope) -> None:
    e = AftercareStarted.model_validate(env.payload)
    await conn.execute(
        "UPDATE employments SET aftercare_started_on = $2 WHERE employment_id = $1", e.employment_id, e.started_on
    )


@board.on("AftercareEnded")
async def aftercare_ended(conn: Conn, env: Envelope) -> None:
    e = AftercareEnded.model_validate(env.payload)
    await conn.execute(
        "UPDATE employments SET aftercare_ended_on = $2 WHERE employment_id = $1", e.employment_id, e.ended_on
    )


@board.on("EmploymentStatusVerified")
async def status_verified(conn: Conn, env: Envelope) -> None:
    e = EmploymentStatusVerified.model_validate(env.payload)
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


@access.on_batch("ConsentGranted", "ConsentWithdrawn", "ConsentExpired")
async def drv_consents(conn: Conn, envs: list[Envelope]) -> None:
    """A run of consent events in two statements instead of one per event (replays).

    Same end state as applying them one by one: a grant inserts its row if it is missing, an
    end (withdrawal, expiry) upserts it inactive. Per consent, the first event decides whether
    the grant's insert (with its expiry date) or the end's insert comes first, and any end
    leaves the row inactive; the grant insert runs before the end upsert."""
    granted: dict[tuple[UUID, UUID], tuple[str | None, date | None]] = {}
    ended: dict[tuple[UUID, UUID], str | None] = {}
    for env in envs:
        e = registry.load(env.event_type, env.schema_version, env.payload)
        assert isinstance(e, ConsentGranted | ConsentWithdrawn | ConsentExpired)
        if e.purpose != ConsentPurpose.DRV_EXCHANGE:
            continue
        key = (e.participant_id, e.consent_id)
        if isinstance(e, ConsentGranted):
            if key not in ended:  # after an end the row exists: a grant changes nothing
                granted.setdefault(key, (e.scope, e.expires_on))
        else:
            ended.setdefault(key, e.scope)
    if granted:
        await conn.execute(
            "INSERT INTO drv_exchange_consents (participant_id, consent_id, scope, active, expires_on)"
            " SELECT p, c, s, true, x FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[]) AS t(p, c, s, x)"
            " ON CONFLICT (participant_id, consent_id) DO NOTHING",
            [k[0] for k in granted],
            [k[1] for k in granted],
            [v[0] for v in granted.values()],
            [v[1] for v in granted.values()],
        )
    if ended:
        await conn.execute(
            "INSERT INTO drv_exchange_consents (participant_id, consent_id, scope, active)"
            " SELECT p, c, s, false FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(p, c, s)"
            " ON CONFLICT (participant_id, consent_id) DO UPDATE SET active = false",
            [k[0] for k in ended],
            [k[1] for k in ended],
            list(ended.values()),
        )


@access.on("ParticipantDataErased")
async def drv_erased(conn: Conn, env: Envelope) -> None:
    e = ParticipantDataErased.model_validate(env.payload)
    await conn.execute("DELETE FROM drv_exchange_consents WHERE participant_id = $1", e.participant_id)
