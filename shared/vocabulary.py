"""Agencies, projects and roles (DOMAIN.md). Pure values; no infrastructure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Role(StrEnum):
    CASE_MANAGER = "case-manager"
    OCCUPATIONAL_THERAPIST = "occupational-therapist"
    PSYCHOLOGIST = "psychologist"
    FINANCIAL_ADVISER = "financial-adviser"
    EMPLOYER_ACQUISITION = "employer-acquisition-officer"
    DRV_ADVISER = "drv-adviser"
    PROJECT_LEAD = "project-lead"
    AUDITOR = "auditor"
    DATA_PROTECTION_OFFICER = "data-protection-officer"
    ADMINISTRATOR = "administrator"
    SERVICE = "service"


# Roles allowed to read health data of a case whose team they belong to (plus its case manager).
HEALTH_ROLES = frozenset({Role.CASE_MANAGER, Role.OCCUPATIONAL_THERAPIST, Role.PSYCHOLOGIST, Role.DRV_ADVISER})

# Roles that work on cases (a team's roles and the project lead): they have a caseload and tasks.
CASE_ROLES = frozenset(
    {
        Role.CASE_MANAGER,
        Role.OCCUPATIONAL_THERAPIST,
        Role.PSYCHOLOGIST,
        Role.FINANCIAL_ADVISER,
        Role.EMPLOYER_ACQUISITION,
        Role.DRV_ADVISER,
        Role.PROJECT_LEAD,
    }
)

# agency -> display name; more agencies can be added by configuration (REHAPRO_EXTRA_AGENCIES).
AGENCIES: dict[str, str] = {
    "jc-en": "Jobcenter Ennepe-Ruhr-Kreis",
    "jc-mk": "Jobcenter Märkischer Kreis",
    "jc-unna": "Jobcenter Kreis Unna",
    "drv-westfalen": "DRV Westfalen",
}

# project -> member agencies (the first is the lead)
PROJECTS: dict[str, tuple[str, ...]] = {
    "pro-aktiv": ("jc-en", "jc-mk", "drv-westfalen"),
    "pluspunkt": ("jc-unna",),
}

DRV_AGENCIES = frozenset({"drv-westfalen"})


def project_agencies(project: str) -> tuple[str, ...]:
    return PROJECTS.get(project, ())


def project_members(project: str, configured: Sequence[str] | None) -> tuple[str, ...]:
    """A project's member agencies: its last configuration's (coordinating agency first, then
    the partners), before its first configuration (``configured`` None) the closed list's."""
    return project_agencies(project) if configured is None else tuple(configured)


def memberships(configured: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Every project's members by the same rule, from the configured projects' members."""
    return {code: project_members(code, configured.get(code)) for code in PROJECTS}
