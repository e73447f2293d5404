"""The staff-member aggregate of intake: one stream per staff member (agency and token subject),
kept by the agency's administrator; every service projects it (``shared.staff``).

Pure: it decides which events a command produces, or refuses with a DomainError.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from shared.contracts.base import DomainEvent
from shared.contracts.intake import (
    StaffMemberLeft,
    StaffMemberRegistered,
    StaffRolesChanged,
)
from shared.domain import Decider, DomainError, InvalidTransition, NotFound
from shared.vocabulary import Role, project_agencies

StaffStatus = Literal["none", "active", "left"]


@dataclass(frozen=True)
class StaffMember:
    agency: str = ""
    subject: str = ""
    status: StaffStatus = "none"
    roles: tuple[Role, ...] = ()
    projects: tuple[str, ...] = ()
    registered_on: date | None = None
    left_on: date | None = None
    sealed_name: str = ""


def evolve_staff(state: StaffMember, event: DomainEvent) -> StaffMember:
    match event:
        case StaffMemberRegistered():
            return StaffMember(
                event.agency, event.subject, "active", tuple(event.roles), tuple(event.projects),
                event.registered_on, None, event.sealed_name,
            )  # fmt: skip
        case StaffRolesChanged():
            return replace(state, roles=tuple(event.roles), projects=tuple(event.projects))
        case StaffMemberLeft():
            return replace(state, status="left", left_on=event.left_on)
    return state


staff_member = Decider[StaffMember](stream_type="staff-member", initial=StaffMember, evolve=evolve_staff)


def staff_stream_id(agency: str, subject: str) -> str:
    return f"staff-{agency}:{subject}"


def _staff_assignment(agency: str, roles: list[Role], projects: list[str]) -> tuple[list[Role], list[str]]:
    """Roles a person can hold (not the services' own) and projects the agency takes part in,
    each once and in a stable order."""
    if Role.SERVICE in roles:
        raise DomainError("the service role is for machines, not staff", field="roles")
    for project in projects:
        if agency not in project_agencies(project):
            raise DomainError(f"agency {agency} does not take part in {project}", field="projects")
    return sorted(set(roles)), sorted(set(projects))


def register_staff(
    state: StaffMember, agency: str, subject: str, sealed_name: str, roles: list[Role], projects: list[str], on: date
) -> list[DomainEvent]:
    """New, or back after leaving (a current member is a conflict: change their roles instead)."""
    if state.status == "active":
        raise InvalidTransition(f"{subject} is already staff of {agency}", field="subject")
    roles, projects = _staff_assignment(agency, roles, projects)
    return [
        StaffMemberRegistered(
            agency=agency, subject=subject, sealed_name=sealed_name, roles=roles, projects=projects, registered_on=on
        )
    ]


def _current(state: StaffMember) -> StaffMember:
    if state.status == "none":
        raise NotFound("no such staff member", field="subject")
    if state.status == "left":
        raise InvalidTransition(f"{state.subject} left on {state.left_on}", field="subject")
    return state


def change_staff_roles(state: StaffMember, roles: list[Role], projects: list[str], on: date) -> list[DomainEvent]:
    s = _current(state)
    roles, projects = _staff_assignment(s.agency, roles, projects)
    if (tuple(roles), tuple(projects)) == (s.roles, s.projects):
        return []  # nothing changes: nothing to record
    return [StaffRolesChanged(agency=s.agency, subject=s.subject, roles=roles, projects=projects, changed_on=on)]


def staff_left(state: StaffMember, left_on: date) -> list[DomainEvent]:
    s = _current(state)
    if s.registered_on is not None and left_on < s.registered_on:
        raise DomainError("cannot leave before being registered", field="left_on")
    return [StaffMemberLeft(agency=s.agency, subject=s.subject, left_on=left_on)]
