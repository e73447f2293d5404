"""The project aggregate (pure): a project's configuration as its coordinating agency's
administrator set it, and the caseload cap rule it gives the case's guides.

Before a project's first ``ProjectConfigured`` a project has no cap, no target and no budget:
the only built-in fact is who may configure it first, the first agency of the closed list of
project codes (``vocabulary.PROJECTS``). Every later fact comes from events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from shared.contracts.base import DomainEvent
from shared.contracts.casework import BudgetLine, ProjectConfigured
from shared.contracts.common import InterventionCategory
from shared.domain import Decider, DomainError, InvalidTransition
from shared.evolvers import Evolver
from shared.vocabulary import AGENCIES, PROJECTS, project_members

# Interventions' costs are spent in the category of the intervention; wage subsidies and the
# project's own staff and other costs have categories of their own.
WAGE_SUBSIDIES = "wage-subsidies"
BUDGET_CATEGORIES = frozenset({c.value for c in InterventionCategory} | {WAGE_SUBSIDIES, "personnel", "other"})


@dataclass(frozen=True)
class Project:
    code: str | None = None  # None until the first ProjectConfigured
    coordinating_agency: str | None = None
    partner_agencies: tuple[str, ...] = ()
    starts_on: date | None = None
    ends_on: date | None = None
    participant_target: int | None = None
    budget: tuple[BudgetLine, ...] = ()
    caseload_cap: int | None = None
    info_meeting_required: bool = True

    @property
    def configured(self) -> bool:
        return self.code is not None


@dataclass(frozen=True)
class Plan:
    """What an administrator asks a project to be (the command's body, checked by ``configure``)."""

    coordinating_agency: str
    partner_agencies: tuple[str, ...]
    starts_on: date
    ends_on: date
    participant_target: int
    budget: tuple[BudgetLine, ...]
    caseload_cap: int | None
    info_meeting_required: bool


evolve = Evolver[Project]()


@evolve.on(ProjectConfigured)
def _configured(_state: Project, e: ProjectConfigured) -> Project:
    return Project(
        code=e.project,
        coordinating_agency=e.coordinating_agency,
        partner_agencies=tuple(e.partner_agencies),
        starts_on=e.starts_on,
        ends_on=e.ends_on,
        participant_target=e.participant_target,
        budget=tuple(e.budget),
        caseload_cap=e.caseload_cap,
        info_meeting_required=e.info_meeting_required,
    )


project = Decider[Project](stream_type="project", initial=Project, evolve=evolve)


def project_stream(code: str) -> str:
    return f"project-{code}"


def require_project_code(code: str) -> str:
    if code not in PROJECTS:
        raise DomainError(f"unknown project {code!r}", field="project")
    return code


def coordinator(state: Project, code: str) -> str:
    """Who configures the project: the coordinating agency of its last configuration, before
    the first one the first agency of the closed list."""
    if state.coordinating_agency is not None:
        return state.coordinating_agency
    return PROJECTS[require_project_code(code)][0]


def members(state: Project, code: str) -> tuple[str, ...]:
    """The coordinating agency and its partners (before the first configuration: the list's)."""
    configured = None if state.coordinating_agency is None else (state.coordinating_agency, *state.partner_agencies)
    return project_members(code, configured)


def configure(state: Project, code: str, plan: Plan, on: date) -> list[DomainEvent]:
    """The project's whole configuration, checked; it replaces the one before."""
    require_project_code(code)
    _check_agencies(plan.coordinating_agency, plan.partner_agencies)
    if plan.ends_on <= plan.starts_on:
        raise DomainError(f"the project must end after it starts ({plan.starts_on})", field="ends_on")
    _check_budget(plan.budget, plan.starts_on, plan.ends_on)
    return [ProjectConfigured(project=code, configured_on=on, **asdict(plan))]


def _check_agencies(coordinating: str, partners: Sequence[str]) -> None:
    for i, agency in enumerate((coordinating, *partners)):
        if agency not in AGENCIES:
            where = "coordinating_agency" if i == 0 else f"partner_agencies.{i - 1}"
            raise DomainError(f"unknown agency {agency!r}", field=where)
    if coordinating in partners:
        raise DomainError("the coordinating agency is not its own partner", field="partner_agencies")
    if len(set(partners)) != len(partners):
        raise DomainError("a partner agency is named twice", field="partner_agencies")


def _check_budget(budget: Sequence[BudgetLine], starts_on: date, ends_on: date) -> None:
    seen: set[tuple[int, str]] = set()
    for i, line in enumerate(budget):
        if line.category not in BUDGET_CATEGORIES:
            raise DomainError(
                f"unknown budget category {line.category!r} (one of {', '.join(sorted(BUDGET_CATEGORIES))})",
                field=f"budget.{i}.category",
            )
        if not starts_on.year <= line.year <= ends_on.year:
            raise DomainError(
                f"{line.year} is outside the project's run ({starts_on.year}-{ends_on.year})", field=f"budget.{i}.year"
            )
        if (line.year, line.category) in seen:
            raise DomainError(f"{line.year} {line.category} is budgeted twice", field=f"budget.{i}")
        seen.add((line.year, line.category))


# ---------------------------------------------------------------- the caseload cap


@dataclass(frozen=True)
class CapOverride:
    """An assignment beyond the cap the project lead allowed: what the event records."""

    cap: int
    caseload: int
    by: str = ""  # the project lead
    sealed_reason: str = ""

    def recorded(self) -> dict[str, Any]:
        """The fields ``CaseManagerAssigned`` records the override in."""
        return {
            "caseload_cap": self.cap,
            "caseload": self.caseload,
            "overridden_by": self.by,
            "sealed_override_reason": self.sealed_reason,
        }


def check_cap(state: Project, code: str, guide: str, caseload: int, override: bool) -> CapOverride | None:
    """None when the guide is under the project's cap (or the project has none); the override
    to record when the lead gave a reason; else refused, naming the cap (409)."""
    cap = state.caseload_cap
    if cap is None or caseload < cap:
        return None
    if not override:
        raise InvalidTransition(
            f"{guide} already has {caseload} active cases in {code}; the project's caseload cap is {cap} per guide"
            " (the project lead may override it with a reason)",
            field="case_manager",
        )
    return CapOverride(cap=cap, caseload=caseload)
