"""Explainable matching of a vacancy's demands against a capacity profile.

Every criterion yields a verdict (fits / partial / conflict), points out of its weight and a
sentence the officer can read. The score is the share of points reached (0-100); any conflict
makes the match ``blocked`` and sorts it after every unblocked one. No learned weights, no
hidden inputs: the same profile and vacancy always give the same score and the same reasons.
Pure: no infrastructure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from shared.contracts.common import CapacityProfile, Level
from shared.contracts.placement import JobDemands

Verdict = Literal["fits", "partial", "conflict"]
K = TypeVar("K")

LEVELS: tuple[Level, ...] = (Level.NONE, Level.LIGHT, Level.MODERATE, Level.HEAVY)

WEIGHTS: dict[str, int] = {
    "hours": 25,
    "lifting": 15,
    "standing": 10,
    "mental_load": 20,
    "shift_work": 10,
    "night_work": 5,
    "customer_contact": 5,
    "adaptations": 10,
}


@dataclass(frozen=True)
class Reason:
    criterion: str
    verdict: Verdict
    points: int
    weight: int
    text: str


@dataclass(frozen=True)
class JobOffer:
    """The parts of a vacancy (and its employer) the match looks at."""

    hours_per_week: float
    demands: JobDemands
    flexible_hours: bool = False
    possible_adaptations: Sequence[str] = ()
    offers_adapted_workplaces: bool = False


@dataclass(frozen=True)
class Match:
    score: int
    blocked: bool
    reasons: list[Reason] = field(default_factory=list)


def _level(criterion: str, demand: Level, capacity: Level, label: str) -> Reason:
    weight = WEIGHTS[criterion]
    gap = LEVELS.index(demand) - LEVELS.index(capacity)
    if gap <= 0:
        return Reason(criterion, "fits", weight, weight, f"{label}: job asks {demand}, fine up to {capacity}")
    if gap == 1:
        return Reason(
            criterion, "partial", weight // 3, weight, f"{label}: job asks {demand}, one step above {capacity}"
        )
    return Reason(criterion, "conflict", 0, weight, f"{label}: job asks {demand}, far above {capacity}")


def _hours(offer: JobOffer, profile: CapacityProfile) -> Reason:
    weight = WEIGHTS["hours"]
    need, can = offer.hours_per_week, profile.max_hours_per_week
    if need <= can:
        return Reason("hours", "fits", weight, weight, f"hours: {need:g} h/week within {can} h")
    if offer.flexible_hours and can > 0:
        points = round(weight * can / need / 2)
        return Reason(
            "hours", "partial", points, weight, f"hours: {need:g} h/week, {can} h possible; employer can reduce hours"
        )
    return Reason("hours", "conflict", 0, weight, f"hours: {need:g} h/week, only {can} h possible")


def _flag(criterion: str, required: bool, possible: bool, label: str) -> Reason:
    weight = WEIGHTS[criterion]
    if not required:
        return Reason(criterion, "fits", weight, weight, f"{label}: not required")
    if possible:
        return Reason(criterion, "fits", weight, weight, f"{label}: required and possible")
    return Reason(criterion, "conflict", 0, weight, f"{label}: required but not possible")


def _adaptations(offer: JobOffer, profile: CapacityProfile) -> Reason:
    weight = WEIGHTS["adaptations"]
    needed = [a.strip().lower() for a in profile.adaptations if a.strip()]
    if not needed:
        return Reason("adaptations", "fits", weight, weight, "adaptations: none needed")
    offered = {a.strip().lower() for a in offer.possible_adaptations}
    missing = [a for a in needed if a not in offered]
    if not missing:
        return Reason("adaptations", "fits", weight, weight, f"adaptations: all offered ({', '.join(needed)})")
    if offer.offers_adapted_workplaces:
        return Reason(
            "adaptations",
            "partial",
            weight // 2,
            weight,
            f"adaptations: {', '.join(missing)} not listed, employer is open to adapted workplaces",
        )
    return Reason(
        "adaptations",
        "partial",
        0,
        weight,
        f"adaptations: {', '.join(missing)} not offered (can be requested)",
    )


def match(offer: JobOffer, profile: CapacityProfile) -> Match:
    """Score one candidate for one vacancy, with a reason per criterion."""
    d = offer.demands
    reasons = [
        _hours(offer, profile),
        _level("lifting", d.lifting, profile.lifting, "lifting"),
        _level("standing", d.standing, profile.standing, "standing"),
        _level("mental_load", d.mental_load, profile.mental_load, "mental load"),
        _flag("shift_work", d.shift_work, profile.shift_work, "shift work"),
        _flag("night_work", d.night_work, profile.night_work, "night work"),
        _flag("customer_contact", d.customer_contact, profile.customer_contact, "customer contact"),
        _adaptations(offer, profile),
    ]
    total = sum(r.weight for r in reasons)
    score = round(100 * sum(r.points for r in reasons) / total)
    return Match(score=score, blocked=any(r.verdict == "conflict" for r in reasons), reasons=reasons)


@dataclass(frozen=True)
class Ranked(Generic[K]):
    key: K
    match: Match


def rank(pairs: Iterable[tuple[K, Match]], limit: int | None = None) -> list[Ranked[K]]:
    """Unblocked before blocked, then by score; ties keep the given order (stable)."""
    ranked = sorted((Ranked(k, m) for k, m in pairs), key=lambda r: (r.match.blocked, -r.match.score))
    return ranked[:limit] if limit is not None else ranked
