"""casework's read models, built from its own topic: the case register with phase and case
manager (caseload), the team, appointments, and the rehab applications (the carrier's queue).
``CaseDataErased`` removes the person.

A case's id is its participant's id (one case per participant)."""

from __future__ import annotations

from shared.contracts.casework import (
    AppointmentAttended,
    AppointmentMissed,
    AppointmentScheduled,
    CaseDataErased,
    CaseEmploymentEndRecorded,
    CaseEmploymentRecorded,
    CaseManagerAssigned,
    CaseOpened,
    CaseTransferred,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseEntered,
    RehabApplicationDecided,
    RehabApplicationFiled,
    RehabApplicationReceived,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
    TeamMemberAdded,
    TeamMemberRemoved,
)
from shared.db import Conn
from shared.projections import Projection
from shared.read_models import Statement, columns, migrations, statement, statements
from shared.recorded import Recorded

# Every table is keyed by the case of the event's own stream: stream-local (parallel rebuilds).
cases = Projection(
    name="cases", sql=migrations(__file__, "projections", "cases"), topics=["casework"], stream_local=True
)

_INSERT_CASES = (
    "INSERT INTO cases (case_id, participant_id, agency, project, opened_on)"
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::date[])"
    " ON CONFLICT (case_id) DO NOTHING"
)
_SET_PHASES = (
    "UPDATE cases SET phase = p.phase, phase_since = p.since"
    " FROM unnest($1::uuid[], $2::text[], $3::date[]) AS p(case_id, phase, since)"
    " WHERE cases.case_id = p.case_id"
)


@cases.on_batch(CaseOpened, PhaseEntered)
async def case_opened(conn: Conn, recs: list[Recorded[CaseOpened | PhaseEntered]]) -> None:
    """A run of openings and phase changes in two statements (a case opens with Einstieg, so
    replays alternate the two): insert the openings, then set each case's last phase of the
    run — the same end state as applying them one by one, since a case's events keep order."""
    opened = [r.payload for r in recs if isinstance(r.payload, CaseOpened)]
    phases = {r.payload.case_id: r.payload for r in recs if isinstance(r.payload, PhaseEntered)}
    if opened:
        rows = ((e.case_id, e.participant_id, e.agency, e.project, e.opened_on) for e in opened)
        await conn.execute(_INSERT_CASES, *columns(rows))
    if phases:
        await conn.execute(_SET_PHASES, *columns((case, e.phase.value, e.entered_on) for case, e in phases.items()))


_ASSIGN_MANAGER = "UPDATE cases SET case_manager = $2 WHERE case_id = $1"
_INTERRUPT = "UPDATE cases SET status = 'interrupted' WHERE case_id = $1"
_RESUME = "UPDATE cases SET status = 'open' WHERE case_id = $1"
_EXIT = "UPDATE cases SET status = 'exited', exited_on = $2, exit_reason = $3 WHERE case_id = $1"
_EMPLOY = "UPDATE cases SET employment_id = $2, employed_since = $3 WHERE case_id = $1"
_END_EMPLOYMENT = (
    "UPDATE cases SET employment_id = NULL, employed_since = NULL WHERE case_id = $1 AND employment_id = $2"
)
_ADD_MEMBER = (
    "INSERT INTO case_team (case_id, member, role, agency) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (case_id, member) DO UPDATE SET role = excluded.role, agency = excluded.agency"
)
_REMOVE_MEMBER = "DELETE FROM case_team WHERE case_id = $1 AND member = $2"
_SCHEDULE = (
    "INSERT INTO case_appointments (appointment_id, case_id, scheduled_for, with_member, kind)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (appointment_id) DO NOTHING"
)
_ATTENDED = "UPDATE case_appointments SET status = 'attended' WHERE appointment_id = $1"
_MISSED = "UPDATE case_appointments SET status = 'missed' WHERE appointment_id = $1"

statement(cases, CaseManagerAssigned, _ASSIGN_MANAGER, "case_id", "case_manager")
statement(cases, ParticipationInterrupted, _INTERRUPT, "case_id")
statement(cases, ParticipationResumed, _RESUME, "case_id")
statement(cases, ParticipantExited, _EXIT, "case_id", "exited_on", "reason.value")
statement(cases, CaseEmploymentRecorded, _EMPLOY, "case_id", "employment_id", "started_on")
statement(cases, CaseEmploymentEndRecorded, _END_EMPLOYMENT, "case_id", "employment_id")
# a self-found job is the case's job like placement's, and has its follow-ups in ``case_jobs``
_OWN_JOB = (
    "INSERT INTO case_jobs (employment_id, case_id, started_on) VALUES ($1, $2, $3)"
    " ON CONFLICT (employment_id) DO NOTHING"
)
_OWN_JOB_VERIFIED = (
    "UPDATE case_jobs SET verified = array_append(verified, $2) WHERE employment_id = $1 AND NOT $2 = ANY(verified)"
)
_OWN_JOB_ENDED = "UPDATE case_jobs SET ended_on = $2 WHERE employment_id = $1"
statements(
    cases,
    Statement(SelfFoundEmploymentRecorded, _EMPLOY, "case_id", "employment_id", "started_on"),
    Statement(SelfFoundEmploymentRecorded, _OWN_JOB, "employment_id", "case_id", "started_on"),
)
statement(cases, SelfFoundEmploymentVerified, _OWN_JOB_VERIFIED, "employment_id", "months_after_start")
statements(
    cases,
    Statement(SelfFoundEmploymentEnded, _OWN_JOB_ENDED, "employment_id", "ended_on"),
    Statement(SelfFoundEmploymentEnded, _END_EMPLOYMENT, "case_id", "employment_id"),
)
statement(cases, TeamMemberAdded, _ADD_MEMBER, "case_id", "member", "role", "agency")
statement(cases, TeamMemberRemoved, _REMOVE_MEMBER, "case_id", "member")
statement(cases, AppointmentScheduled, _SCHEDULE, "appointment_id", "case_id", "scheduled_for", "with_member", "kind")
statement(cases, AppointmentAttended, _ATTENDED, "appointment_id")
statement(cases, AppointmentMissed, _MISSED, "appointment_id")

_FILE_REHAB = (
    "INSERT INTO case_rehab_applications (application_id, case_id, carrier, kind, filed_on)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id) DO NOTHING"
)
_REHAB_RECEIVED = "UPDATE case_rehab_applications SET status = 'received' WHERE application_id = $1"
_REHAB_DECIDED = "UPDATE case_rehab_applications SET status = 'decided' WHERE application_id = $1"
statement(cases, RehabApplicationFiled, _FILE_REHAB, "application_id", "case_id", "carrier", "kind", "filed_on")
statement(cases, RehabApplicationReceived, _REHAB_RECEIVED, "application_id")
statement(cases, RehabApplicationDecided, _REHAB_DECIDED, "application_id")
# A transfer: the case runs at the receiving agency (its lists, its caseload) and the sending
# agency's team members leave it.
_TRANSFER = "UPDATE cases SET agency = $2, case_manager = $3 WHERE case_id = $1"
_TRANSFER_TEAM = "DELETE FROM case_team WHERE case_id = $1 AND agency = $2"
statements(
    cases,
    Statement(CaseTransferred, _TRANSFER, "case_id", "to_agency", "to_case_manager"),
    Statement(CaseTransferred, _TRANSFER_TEAM, "case_id", "from_agency"),
)


_ERASE = (
    "DELETE FROM case_jobs WHERE case_id = $1",
    "DELETE FROM case_appointments WHERE case_id = $1",
    "DELETE FROM case_rehab_applications WHERE case_id = $1",
    "DELETE FROM case_team WHERE case_id = $1",
    "DELETE FROM cases WHERE case_id = $1",
)


@cases.on(CaseDataErased)
async def erased(conn: Conn, rec: Recorded[CaseDataErased]) -> None:
    for sql in _ERASE:
        await conn.execute(sql, rec.payload.case_id)
