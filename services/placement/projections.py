"""placement's read models: the board (from its own topic), drv-exchange access (from intake)
and the workshop (participants on production orders; intake's enrolments and erasures).

Both can be rebuilt from the topics at any time. A withdrawn candidate's row leaves the pool
and their open proposals turn void in the same transaction; on erasure every row about the
person is deleted.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from uuid import UUID

from shared.contracts.casework import ProjectConfigured
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ParticipantDataErased,
    ParticipantEnrolled,
)
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
    ProductionOrderAttendanceRecorded,
    ProductionOrderCompleted,
    ProductionOrderParticipantAssigned,
    ProductionOrderParticipantReleased,
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
from shared.read_models import Statement, as_json, columns, migrations, recorded_agency, statement, statements
from shared.recorded import Recorded

board = Projection(name="board", sql=migrations(__file__, "projections", "board"), topics=["placement"])
# Rows per participant, from that participant's own stream (consents, erasure): stream-local.
access = Projection(
    name="access", sql=migrations(__file__, "projections", "access"), topics=["intake"], stream_local=True
)

PARTICIPANT_TABLES = (
    "candidates",
    "proposals",
    "work_trials",
    "adaptation_requests",
    "wage_subsidies",
    "employments",
    "follow_ups",
)


# --- employers, vacancies, orders ------------------------------------------------------------

_ACQUIRE_EMPLOYER = (
    "INSERT INTO employers (employer_id, agency, company, sector, size, region, sealed_contacts,"
    " offers_work_trials, offers_adapted_workplaces, acquired_on)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (employer_id) DO NOTHING"
)
_EMPLOYER = (
    "employer_id", "agency", "company", "sector", "size", "region", "sealed_contacts",
    "offers_work_trials", "offers_adapted_workplaces", "acquired_on",
)  # fmt: skip
_CLOSE_VACANCY = "UPDATE vacancies SET status = 'closed', closed_on = $2, close_reason = $3 WHERE vacancy_id = $1"
_ACCEPT_ORDER = (
    "INSERT INTO production_orders (order_id, employer_id, agency, description, quantity, accepted_on, due_on,"
    " status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted') ON CONFLICT (order_id) DO NOTHING"
)
_ORDER = ("order_id", "employer_id", "agency", "description", "quantity", "accepted_on", "due_on")
_COMPLETE_ORDER = (
    "UPDATE production_orders SET status = 'completed', completed_on = $2, delivered_quantity = $3 WHERE order_id = $1"
)

statement(board, EmployerAcquired, _ACQUIRE_EMPLOYER, *_EMPLOYER)
statement(board, VacancyClosed, _CLOSE_VACANCY, "vacancy_id", "closed_on", "reason")
statement(board, ProductionOrderAccepted, _ACCEPT_ORDER, *_ORDER)
statement(board, ProductionOrderCompleted, _COMPLETE_ORDER, "order_id", "completed_on", "delivered_quantity")


_LOG_CONTACT = Statement(
    EmployerContactLogged,
    "INSERT INTO employer_contacts (contact_id, employer_id, agency, contacted_on, channel, topic, sealed_notes,"
    " next_contact_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contact_id) DO NOTHING",
    "contact_id", "employer_id", recorded_agency, "contacted_on", "channel", "topic", "sealed_notes",
    "next_contact_on",
)  # fmt: skip
_CONTACT_DATES = Statement(
    EmployerContactLogged,
    "UPDATE employers SET last_contact_on = GREATEST(last_contact_on, $2), next_contact_on = $3 WHERE employer_id = $1",
    "employer_id", "contacted_on", "next_contact_on",
)  # fmt: skip
_SEAL_CONTACTS_ERASED = Statement(
    EmployerContactDataErased,
    "UPDATE employers SET contacts_erased = true, sealed_contacts = '' WHERE employer_id = $1",
    "employer_id",
)
_NOTES_ERASED = Statement(
    EmployerContactDataErased, "UPDATE employer_contacts SET sealed_notes = '' WHERE employer_id = $1", "employer_id"
)

statements(board, _LOG_CONTACT, _CONTACT_DATES)
# the employer's key is gone: its sealed contacts and notes are blanked as well
statements(board, _SEAL_CONTACTS_ERASED, _NOTES_ERASED)


_RECORD_VACANCY = (
    "INSERT INTO vacancies (vacancy_id, employer_id, agency, title, tasks, hours_per_week, flexible_hours,"
    " demands, possible_adaptations, positions, status, recorded_on)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11) ON CONFLICT (vacancy_id) DO NOTHING"
)
_VACANCY = (
    "vacancy_id", "employer_id", "agency", "title", "tasks", "hours_per_week", "flexible_hours",
    as_json("demands"), as_json("possible_adaptations"), "positions", "recorded_on",
)  # fmt: skip
statement(board, VacancyRecorded, _RECORD_VACANCY, *_VACANCY)


# --- candidate pool and journey --------------------------------------------------------------


_PUBLISH = (
    "INSERT INTO candidates (participant_id, agency, project, profile, published_on) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (participant_id) DO UPDATE SET agency = excluded.agency, project = excluded.project,"
    " profile = excluded.profile, published_on = excluded.published_on"
)
_PROFILE = ("participant_id", "agency", "project", as_json("profile"), "published_on")
statement(board, CandidateProfilePublished, _PUBLISH, *_PROFILE)


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


_START_TRIAL = Statement(
    WorkTrialStarted,
    "INSERT INTO work_trials (trial_id, participant_id, employer_id, vacancy_id, agency, started_on, planned_end,"
    " status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') ON CONFLICT (trial_id) DO NOTHING",
    "trial_id", "participant_id", "employer_id", "vacancy_id", recorded_agency, "started_on", "planned_end",
)  # fmt: skip
# the open proposal for the trial's vacancy (if it has one) moves on to the trial
_PROPOSAL_ON_TRIAL = Statement(
    WorkTrialStarted,
    "UPDATE proposals SET status = 'trial' WHERE participant_id = $1 AND vacancy_id = $2 AND status = 'open'",
    "participant_id", "vacancy_id",
    only_if="vacancy_id",
)  # fmt: skip

statements(board, _START_TRIAL, _PROPOSAL_ON_TRIAL)


_START_EMPLOYMENT = Statement(
    EmploymentStarted,
    "INSERT INTO employments (employment_id, participant_id, employer_id, agency, project, type, subsidised,"
    " fully_qualifying, hours_per_week, started_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (employment_id) DO NOTHING",
    "employment_id", "participant_id", "employer_id", "agency", "project", "type.value", "subsidised",
    "fully_qualifying", "hours_per_week", "started_on",
)  # fmt: skip
# the open or trial proposals with the employer end in the employment
_PROPOSALS_EMPLOYED = Statement(
    EmploymentStarted,
    "UPDATE proposals SET status = 'employed'"
    " WHERE participant_id = $1 AND employer_id = $2 AND status IN ('open', 'trial')",
    "participant_id", "employer_id",
    only_if="employer_id",
)  # fmt: skip

statements(board, _START_EMPLOYMENT, _PROPOSALS_EMPLOYED)


# The proposals, trials, subsidies and follow-ups of a candidate, one statement per event.
_PROPOSE = (
    "INSERT INTO proposals (proposal_id, participant_id, vacancy_id, employer_id, agency, proposed_on,"
    " match_score, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (proposal_id) DO NOTHING"
)
_PROPOSAL = (
    "proposal_id",
    "participant_id",
    "vacancy_id",
    "employer_id",
    recorded_agency,
    "proposed_on",
    "match_score",
)
_DECLINE = "UPDATE proposals SET status = 'declined', declined_by = $2, reason = $3 WHERE proposal_id = $1"
_COMPLETE_TRIAL = "UPDATE work_trials SET status = 'completed', ended_on = $2, outcome = $3 WHERE trial_id = $1"
_ABORT_TRIAL = "UPDATE work_trials SET status = 'aborted', ended_on = $2, reason = $3 WHERE trial_id = $1"
# ``adaptation`` is v1 only; v2 rows keep the ciphertext (opened by the views)
_REQUEST_ADAPTATION = (
    "INSERT INTO adaptation_requests (request_id, participant_id, employer_id, agency, adaptation, requested_on,"
    " funding, sealed_adaptation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id) DO NOTHING"
)
_ADAPTATION = (
    "request_id", "participant_id", "employer_id", recorded_agency, "adaptation", "requested_on", "funding",
    "sealed_adaptation",
)  # fmt: skip
_GRANT_SUBSIDY = (
    "INSERT INTO wage_subsidies (subsidy_id, participant_id, employment_id, agency, instrument, granted_on,"
    " months, percent_first_year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subsidy_id) DO NOTHING"
)
_SUBSIDY = (
    "subsidy_id", "participant_id", "employment_id", recorded_agency, "instrument", "granted_on", "months",
    "percent_first_year",
)  # fmt: skip
_END_EMPLOYMENT = "UPDATE employments SET ended_on = $2, end_reason = $3 WHERE employment_id = $1"
_START_AFTERCARE = "UPDATE employments SET aftercare_started_on = $2 WHERE employment_id = $1"
_END_AFTERCARE = "UPDATE employments SET aftercare_ended_on = $2 WHERE employment_id = $1"
_VERIFY = (
    "INSERT INTO follow_ups (employment_id, months, participant_id, verified_on, still_employed)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (employment_id, months) DO NOTHING"
)
_FOLLOW_UP = ("employment_id", "months_after_start", "participant_id", "verified_on", "still_employed")

statement(board, CandidateProposed, _PROPOSE, *_PROPOSAL)
statement(board, ProposalDeclined, _DECLINE, "proposal_id", "by", "reason")
statement(board, WorkTrialCompleted, _COMPLETE_TRIAL, "trial_id", "completed_on", "outcome")
statement(board, WorkTrialAborted, _ABORT_TRIAL, "trial_id", "aborted_on", "reason")
statement(board, WorkplaceAdaptationRequested, _REQUEST_ADAPTATION, *_ADAPTATION)
statement(board, WageSubsidyGranted, _GRANT_SUBSIDY, *_SUBSIDY)
statement(board, EmploymentEnded, _END_EMPLOYMENT, "employment_id", "ended_on", "reason")
statement(board, AftercareStarted, _START_AFTERCARE, "employment_id", "started_on")
statement(board, AftercareEnded, _END_AFTERCARE, "employment_id", "ended_on")
statement(board, EmploymentStatusVerified, _VERIFY, *_FOLLOW_UP)


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
        await conn.execute(_GRANT_DRV, *columns(key + row for key, row in granted.items()))
    if ended:
        await conn.execute(_END_DRV, *columns(key + row for key, row in ended.items()))


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


# --- projects: casework owns them; who are partners follows their last configuration ---------

projects = Projection(name="projects", sql=migrations(__file__, "projections", "projects"), topics=["casework"])

_PROJECT_MEMBERS = """
INSERT INTO project_members (project, members) VALUES ($1, $2)
ON CONFLICT (project) DO UPDATE SET members = excluded.members
"""


@projects.on(ProjectConfigured)
async def project_configured(conn: Conn, rec: Recorded[ProjectConfigured]) -> None:
    e = rec.payload
    await conn.execute(_PROJECT_MEMBERS, e.project, [e.coordinating_agency, *e.partner_agencies])


# --- the Produktionswerkstatt (from intake's enrolments and the orders' streams) -------------

# Its own projection: it needs intake's enrolments and erasures beside placement's orders. An
# erasure reaches across streams (it forgets the person on every order).
workshop = Projection(
    name="workshop",
    sql=migrations(__file__, "projections", "workshop"),
    topics=["intake", "placement"],
    stream_local=True,
    cross_stream=frozenset({ParticipantDataErased}),
)


def erased_key(participant_id: UUID) -> bytes:
    """How the workshop remembers an erased participant without keeping the id: a hash."""
    return hashlib.sha256(b"rehapro-workshop-erased:" + participant_id.bytes).digest()


def _key(rec: Recorded[Any]) -> bytes:
    return erased_key(rec.payload.participant_id)


_NOT_ERASED = "NOT EXISTS (SELECT 1 FROM workshop_erased WHERE participant_key = $1::bytea)"
_ENROLLED = (
    "INSERT INTO workshop_enrolled (participant_id, agency, project, enrolled_on)"
    f" SELECT $2, $3, $4, $5 WHERE {_NOT_ERASED}"
    " ON CONFLICT (participant_id) DO UPDATE SET agency = excluded.agency, project = excluded.project,"
    " enrolled_on = excluded.enrolled_on"
)
_ASSIGNED = (
    "INSERT INTO order_participants (order_id, participant_id, order_agency, agency, assigned_on)"
    f" SELECT $2, $3, $4, $5, $6 WHERE {_NOT_ERASED}"
    " ON CONFLICT (order_id, participant_id) DO UPDATE SET assigned_on = excluded.assigned_on, released_on = NULL"
)
_ATTENDED = (
    "INSERT INTO order_attendance (order_id, participant_id, worked_on, attendance, hours)"
    f" SELECT $2, $3, $4, $5, $6 WHERE {_NOT_ERASED}"
    " ON CONFLICT (order_id, participant_id, worked_on) DO NOTHING"
)
_RELEASED = "UPDATE order_participants SET released_on = $3 WHERE order_id = $1 AND participant_id = $2"

statement(workshop, ParticipantEnrolled, _ENROLLED, _key, "participant_id", "agency", "project", "start_date")
statement(
    workshop, ProductionOrderParticipantAssigned, _ASSIGNED,
    _key, "order_id", "participant_id", recorded_agency, "agency", "assigned_on",
)  # fmt: skip
statement(
    workshop, ProductionOrderAttendanceRecorded, _ATTENDED,
    _key, "order_id", "participant_id", "worked_on", "attendance", "hours",
)  # fmt: skip
statement(workshop, ProductionOrderParticipantReleased, _RELEASED, "order_id", "participant_id", "released_on")

_FORGET = tuple(
    f"DELETE FROM {table} WHERE participant_id = $1"
    for table in ("workshop_enrolled", "order_participants", "order_attendance")
)
_REMEMBER_ERASED = "INSERT INTO workshop_erased (participant_key) VALUES ($1) ON CONFLICT DO NOTHING"


@workshop.on(ParticipantDataErased)
async def workshop_erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    """Forget the person on every order (hours and attendance too); doing it again changes nothing."""
    for sql in _FORGET:
        await conn.execute(sql, rec.payload.participant_id)
    await conn.execute(_REMEMBER_ERASED, erased_key(rec.payload.participant_id))
