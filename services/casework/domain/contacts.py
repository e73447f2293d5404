"""Appointments (attended or missed, never a sanction), contacts and case notes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.casework.domain.state import (
    APPOINTMENTS,
    Case,
    require_active,
)
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    AppointmentAttended,
    AppointmentMissed,
    AppointmentScheduled,
    CaseNoteAdded,
    ContactLogged,
)

# ---------------------------------------------------------------- appointments, contacts, notes


def schedule_appointment(state: Case, appointment_id: UUID, on: date, with_member: str, kind: str) -> list[DomainEvent]:
    cid = require_active(state)
    return [
        AppointmentScheduled(
            case_id=cid, appointment_id=appointment_id, scheduled_for=on, with_member=with_member, kind=kind
        )
    ]


def record_attendance(state: Case, appointment_id: UUID, on: date, attended: bool, excused: bool) -> list[DomainEvent]:
    """Attended or missed; a missed appointment is never a sanction."""
    cid = APPOINTMENTS.require(state, appointment_id, "scheduled")
    if attended:
        return [AppointmentAttended(case_id=cid, appointment_id=appointment_id, attended_on=on)]
    return [AppointmentMissed(case_id=cid, appointment_id=appointment_id, missed_on=on, excused=excused)]


def log_contact(
    state: Case, contact_id: UUID, on: date, channel: str, counterpart: str, sealed_summary: str
) -> list[DomainEvent]:
    cid = require_active(state)
    return [
        ContactLogged(
            case_id=cid,
            contact_id=contact_id,
            contacted_on=on,
            channel=channel,
            counterpart=counterpart,
            sealed_summary=sealed_summary,
        )
    ]


def add_note(
    state: Case, note_id: UUID, on: date, author: str, confidential: bool, sealed_text: str
) -> list[DomainEvent]:
    cid = require_active(state)
    return [
        CaseNoteAdded(
            case_id=cid,
            note_id=note_id,
            written_on=on,
            author=author,
            confidential=confidential,
            sealed_text=sealed_text,
        )
    ]
