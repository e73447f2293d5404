"""casework's read models, built from its own topic: the case register with phase and case
manager (caseload), the team, and appointments. ``CaseDataErased`` removes the person.

A case's id is its participant's id (one case per participant)."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.casework import (
    AppointmentAttended,
    AppointmentMissed,
    AppointmentScheduled,
    CaseDataErased,
    CaseEmploymentEndRecorded,
    CaseEmploymentRecorded,
    CaseManagerAssigned,
    CaseOpened,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseEntered,
    TeamMemberAdded,
    TeamMemberRemoved,
)
from shared.db import Conn
from shared.projections import Projection
from shared.recorded import Recorded

# Every table is keyed by the case of the event's own stream: stream-local (parallel rebuilds).
cases = Projection(
    name="cases",
    sql=sorted((Path(__file__).parent / "sql" / "projections" / "cases").glob("*.sql")),
    topics=["casework"],
    stream_local=True,
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
        await conn.execute(
            _INSERT_CASES,
            [e.case_id for e in opened],
            [e.participant_id for e in opened],
            [e.agency for e in opened],
            [e.project for e in opened],
            [e.opened_on for e in opened],
        )
    if phases:
        await conn.execute(
            _SET_PHASES,
            list(phases),
            [e.phase.value for e in phases.values()],
            [e.entered_on for e in phases.values()],
        )


@cases.on(CaseManagerAssigned)
async def manager_assigned(conn: Conn, rec: Recorded[CaseManagerAssigned]) -> None:
    e = rec.payload
    await conn.execute("UPDATE cases SET case_manager = $2 WHERE case_id = $1", e.case_id, e.case_manager)


@cases.on(ParticipationInterrupted, ParticipationResumed)
async def interruption(conn: Conn, rec: Recorded[ParticipationInterrupted | ParticipationResumed]) -> None:
    status = "interrupted" if isinstance(rec.payload, ParticipationInterrupted) else "open"
    await conn.execute("UPDATE cases SET status = $2 WHERE case_id = $1", rec.payload.case_id, status)


@cases.on(ParticipantExited)
async def exited(conn: Conn, rec: Recorded[ParticipantExited]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE cases SET status = 'exited', exited_on = $2, exit_reason = $3 WHERE case_id = $1",
        e.case_id,
        e.exited_on,
        e.reason.value,
    )


@cases.on(CaseEmploymentRecorded)
async def employed(conn: Conn, rec: Recorded[CaseEmploymentRecorded]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE cases SET employment_id = $2, employed_since = $3 WHERE case_id = $1",
        e.case_id,
        e.employment_id,
        e.started_on,
    )


@cases.on(CaseEmploymentEndRecorded)
async def employment_ended(conn: Conn, rec: Recorded[CaseEmploymentEndRecorded]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE cases SET employment_id = NULL, employed_since = NULL WHERE case_id = $1 AND employment_id = $2",
        e.case_id,
        e.employment_id,
    )


@cases.on(TeamMemberAdded)
async def member_added(conn: Conn, rec: Recorded[TeamMemberAdded]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO case_team (case_id, member, role, agency) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (case_id, member) DO UPDATE SET role = excluded.role, agency = excluded.agency",
        e.case_id,
        e.member,
        e.role,
        e.agency,
    )


@cases.on(TeamMemberRemoved)
async def member_removed(conn: Conn, rec: Recorded[TeamMemberRemoved]) -> None:
    e = rec.payload
    await conn.execute("DELETE FROM case_team WHERE case_id = $1 AND member = $2", e.case_id, e.member)


@cases.on(AppointmentScheduled)
async def appointment_scheduled(conn: Conn, rec: Recorded[AppointmentScheduled]) -> None:
    e = rec.payload
    await conn.execute(
        "INSERT INTO case_appointments (appointment_id, case_id, scheduled_for, with_member, kind)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (appointment_id) DO NOTHING",
        e.appointment_id,
        e.case_id,
        e.scheduled_for,
        e.with_member,
        e.kind,
    )


@cases.on(AppointmentAttended, AppointmentMissed)
async def appointment_recorded(conn: Conn, rec: Recorded[AppointmentAttended | AppointmentMissed]) -> None:
    status = "attended" if isinstance(rec.payload, AppointmentAttended) else "missed"
    await conn.execute(
        "UPDATE case_appointments SET status = $2 WHERE appointment_id = $1", rec.payload.appointment_id, status
    )


_ERASE = (
    "DELETE FROM case_appointments WHERE case_id = $1",
    "DELETE FROM case_team WHERE case_id = $1",
    "DELETE FROM cases WHERE case_id = $1",
)


@cases.on(CaseDataErased)
async def erased(conn: Conn, rec: Recorded[CaseDataErased]) -> None:
    for statement in _ERASE:
        await conn.execute(statement, rec.payload.case_id)
