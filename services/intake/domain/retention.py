"""Retention: record classes, their periods per agency and project, and which record is due for
erasure on which day. Pure (no infrastructure); the rules are events of the agency's
``retention-rules-{agency}`` stream, the defaults below apply until an agency sets its own.

A record is due on ``trigger + period`` (calendar months; a day past the month's end is the
month's last day) and from then on; it is erased by the daily task through the DPO's erasure
(``EraseParticipant``), unless a legal hold holds it that day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import get_args

from shared.contracts.base import DomainEvent
from shared.contracts.intake import RecordClass, RetentionRuleSet
from shared.domain import Decider, DomainError
from shared.evolvers import Evolver
from shared.vocabulary import project_members

RECORD_CLASSES: tuple[RecordClass, ...] = get_args(RecordClass)


@dataclass(frozen=True)
class Rule:
    """A retention period of one record class; ``project`` None: every project of the agency."""

    record_class: RecordClass
    period_months: int
    basis: str
    project: str | None = None
    source: str = "default"  # "default" or "agency" (set by an event)
    set_on: date | None = None


DEFAULTS: Mapping[RecordClass, Rule] = MappingProxyType(
    {
        # DOMAIN.md: grant rules usually ask for about five years after the project (Zuwendungs-
        # recht: keep the files 5 years after the final report); counted from the exit.
        "project-data": Rule("project-data", 60, "default: grant rules, 5 years (DOMAIN.md); § 84 (2) SGB X"),
        # § 84 (2) SGB X: erase once no longer needed for the task. A referral without enrolment
        # is needed only for a re-referral or a complaint about the decision: 6 months.
        "referral-not-enrolled": Rule(
            "referral-not-enrolled", 6, "default: § 84 (2) SGB X, not needed after 6 months without enrolment"
        ),
    }
)


@dataclass(frozen=True)
class Rules:
    """An agency's rules as set by its events: (project or None, record class) → rule."""

    agency: str = ""
    rules: Mapping[tuple[str | None, RecordClass], Rule] = field(default_factory=lambda: MappingProxyType({}))

    def applying(self, project: str, record_class: RecordClass) -> Rule:
        """The project's own rule, else the agency's rule for all projects, else the default."""
        return self.rules.get((project, record_class)) or self.rules.get((None, record_class)) or DEFAULTS[record_class]

    def effective(self) -> list[Rule]:
        """Every rule in force: the defaults not replaced by an agency-wide rule, and the set ones."""
        agency_wide = {c for (p, c) in self.rules if p is None}
        defaults = [r for c, r in DEFAULTS.items() if c not in agency_wide]
        return defaults + sorted(self.rules.values(), key=lambda r: (r.project or "", r.record_class))


evolve = Evolver[Rules]()


@evolve.on(RetentionRuleSet)
def _rule_set(state: Rules, e: RetentionRuleSet) -> Rules:
    rule = Rule(e.record_class, e.period_months, e.basis, e.project, "agency", e.set_on)
    return replace(state, agency=e.agency, rules=MappingProxyType({**state.rules, (e.project, e.record_class): rule}))


rules = Decider[Rules](stream_type="retention-rules", initial=Rules, evolve=evolve)


def stream_id(agency: str) -> str:
    return f"retention-rules-{agency}"


def set_rule(
    state: Rules,
    agency: str,
    project: str | None,
    record_class: RecordClass,
    months: int,
    basis: str,
    today: date,
    *,
    configured: Sequence[str] | None = None,
) -> list[DomainEvent]:
    """A new period for the agency's record class; the same period and basis again appends
    nothing. A project's rule is for its members (``configured``: as casework configured it)."""
    if project is not None and agency not in project_members(project, configured):
        raise DomainError(f"agency {agency} does not take part in {project}", field="project")
    current = state.rules.get((project, record_class))
    if current is not None and (current.period_months, current.basis) == (months, basis):
        return []
    return [
        RetentionRuleSet(
            agency=agency, project=project, record_class=record_class, period_months=months, basis=basis, set_on=today
        )
    ]


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months; a day the target month lacks becomes its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Record:
    """What retention knows of one participant (the retention projection's row)."""

    participant_id: str
    agency: str
    project: str
    status: str  # intake's status: referred, enrolled, declined, withdrawn
    ended_on: date | None = None  # decline or withdrawal of the referral
    exited_on: date | None = None  # casework's ParticipantExited


@dataclass(frozen=True)
class Due:
    """A record's erasure day under the rule that applies to it."""

    record: Record
    record_class: RecordClass
    trigger_on: date
    due_on: date
    rule: Rule

    @property
    def legal_basis(self) -> str:
        """What the erasure event records: reason ``retention``, the class, the period, its basis."""
        return (
            f"retention: {self.record_class}, {self.rule.period_months} months after {self.trigger_on.isoformat()}"
            f" ({self.rule.basis})"
        )[:300]


def record_class(record: Record) -> tuple[RecordClass, date] | None:
    """The record's class and trigger day, or None while no period runs (an open referral,
    an enrolment without exit)."""
    if record.status in ("declined", "withdrawn") and record.ended_on is not None:
        return "referral-not-enrolled", record.ended_on
    if record.status == "enrolled" and record.exited_on is not None:
        return "project-data", record.exited_on
    return None


def due(record: Record, agency_rules: Rules) -> Due | None:
    """When the record is due for erasure, and under which rule."""
    classified = record_class(record)
    if classified is None:
        return None
    cls, trigger = classified
    rule = agency_rules.applying(record.project, cls)
    return Due(record, cls, trigger, add_months(trigger, rule.period_months), rule)


def due_by(records: Iterable[Record], agency_rules: Rules, day: date) -> list[Due]:
    """The records whose erasure day is ``day`` or earlier, earliest first."""
    found = [d for d in (due(r, agency_rules) for r in records) if d is not None and d.due_on <= day]
    return sorted(found, key=lambda d: (d.due_on, d.record.participant_id))
