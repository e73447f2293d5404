"""Read-side helpers shared by the HTTP modules: visible rows, rankings, due follow-ups."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.placement import access, followups, matching
from shared.auth import Principal
from shared.contracts.common import CapacityProfile
from shared.contracts.placement import JobDemands

_DRV_ACTIVE = """
EXISTS (SELECT 1 FROM drv_exchange_consents d
        WHERE d.participant_id = c.participant_id AND d.active
          AND (d.expires_on IS NULL OR d.expires_on >= $1)
          AND (d.scope IS NULL OR d.scope = '' OR d.scope = $2))
"""


def _loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def drv_exchange_active(pool: asyncpg.Pool, participant_id: UUID, principal: Principal, today: date) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT " + _DRV_ACTIVE.replace("c.participant_id", "$3"), today, principal.agency, participant_id
        )
    )


async def visible_candidates(pool: asyncpg.Pool, principal: Principal, today: date) -> list[dict[str, Any]]:
    """The pool as this principal may see it (own agency; DRV under drv-exchange consent)."""
    rows = await pool.fetch(
        f"SELECT c.participant_id, c.agency, c.project, c.profile, c.published_on, {_DRV_ACTIVE} AS drv"
        " FROM candidates c ORDER BY c.published_on, c.participant_id",
        today,
        principal.agency,
    )
    return [
        {
            "participant_id": r["participant_id"],
            "agency": r["agency"],
            "project": r["project"],
            "profile": _loads(r["profile"]),
            "published_on": r["published_on"],
        }
        for r in rows
        if access.can_see_candidate(principal, r["agency"], r["project"], r["drv"])
    ]


def offer_from_row(row: Any) -> matching.JobOffer:
    return matching.JobOffer(
        hours_per_week=row["hours_per_week"],
        demands=JobDemands.model_validate(_loads(row["demands"])),
        flexible_hours=row["flexible_hours"],
        possible_adaptations=tuple(_loads(row["possible_adaptations"])),
        offers_adapted_workplaces=row["offers_adapted_workplaces"],
    )


def match_json(m: matching.Match) -> dict[str, Any]:
    return {
        "score": m.score,
        "blocked": m.blocked,
        "reasons": [
            {"criterion": r.criterion, "verdict": r.verdict, "points": r.points, "weight": r.weight, "text": r.text}
            for r in m.reasons
        ],
    }


_VACANCY_SQL = """
SELECT v.*, e.company, e.offers_adapted_workplaces, e.offers_work_trials
FROM vacancies v JOIN employers e USING (employer_id)
"""


async def vacancy_row(pool: asyncpg.Pool, vacancy_id: UUID) -> Any:
    return await pool.fetchrow(_VACANCY_SQL + " WHERE v.vacancy_id = $1", vacancy_id)


async def open_vacancies(pool: asyncpg.Pool, principal: Principal, own_only: bool = False) -> list[Any]:
    agencies = [principal.agency] if own_only else sorted(access.partners(principal.agency))
    return list(
        await pool.fetch(
            _VACANCY_SQL
            + " WHERE v.status = 'open' AND v.agency = ANY($1::text[]) ORDER BY v.recorded_on, v.vacancy_id",
            agencies,
        )
    )


def vacancy_json(row: Any) -> dict[str, Any]:
    return {
        "vacancy_id": str(row["vacancy_id"]),
        "employer_id": str(row["employer_id"]),
        "company": row["company"],
        "agency": row["agency"],
        "title": row["title"],
        "tasks": row["tasks"],
        "hours_per_week": row["hours_per_week"],
        "flexible_hours": row["flexible_hours"],
        "demands": _loads(row["demands"]),
        "possible_adaptations": _loads(row["possible_adaptations"]),
        "positions": row["positions"],
        "status": row["status"],
        "recorded_on": row["recorded_on"].isoformat(),
        "closed_on": row["closed_on"].isoformat() if row["closed_on"] else None,
        "close_reason": row["close_reason"],
    }


async def proposed_pairs(pool: asyncpg.Pool) -> set[tuple[UUID, UUID]]:
    rows = await pool.fetch("SELECT participant_id, vacancy_id FROM proposals WHERE status IN ('open', 'trial')")
    return {(r["participant_id"], r["vacancy_id"]) for r in rows}


def rank_candidates(
    vacancy: Any, candidates: list[dict[str, Any]], proposed: set[tuple[UUID, UUID]], limit: int | None = None
) -> list[dict[str, Any]]:
    offer = offer_from_row(vacancy)
    by_id = {c["participant_id"]: c for c in candidates}
    ranked = matching.rank(
        (
            (c["participant_id"], matching.match(offer, CapacityProfile.model_validate(c["profile"])))
            for c in candidates
        ),
        limit,
    )
    return [
        {
            "participant_id": str(r.key),
            "agency": by_id[r.key]["agency"],
            "already_proposed": (r.key, vacancy["vacancy_id"]) in proposed,
            **match_json(r.match),
        }
        for r in ranked
    ]


def rank_vacancies(
    profile: CapacityProfile, vacancies: list[Any], participant_id: UUID, proposed: set[tuple[UUID, UUID]]
) -> list[dict[str, Any]]:
    by_id = {v["vacancy_id"]: v for v in vacancies}
    ranked = matching.rank((v["vacancy_id"], matching.match(offer_from_row(v), profile)) for v in vacancies)
    return [
        {
            "vacancy_id": str(r.key),
            "title": by_id[r.key]["title"],
            "company": by_id[r.key]["company"],
            "agency": by_id[r.key]["agency"],
            "already_proposed": (participant_id, r.key) in proposed,
            **match_json(r.match),
        }
        for r in ranked
    ]


async def due_follow_ups(
    pool: asyncpg.Pool, agency: str, today: date, until: date | None = None
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT e.employment_id, e.participant_id, e.started_on, e.employer_id, e.type,"
        " coalesce(array_agg(f.months) FILTER (WHERE f.months IS NOT NULL), '{}') AS verified"
        " FROM employments e LEFT JOIN follow_ups f USING (employment_id)"
        " WHERE e.agency = $1 GROUP BY e.employment_id",
        agency,
    )
    info = {r["employment_id"]: r for r in rows}
    jobs = [
        followups.StartedJob(r["employment_id"], r["participant_id"], r["started_on"], frozenset(r["verified"]))
        for r in rows
    ]
    return [
        {
            "employment_id": str(d.employment_id),
            "participant_id": str(d.participant_id),
            "employer_id": str(info[d.employment_id]["employer_id"]) if info[d.employment_id]["employer_id"] else None,
            "type": info[d.employment_id]["type"],
            "started_on": info[d.employment_id]["started_on"].isoformat(),
            "months_after_start": d.months_after_start,
            "due_on": d.due_on.isoformat(),
            "overdue": d.overdue,
        }
        for d in followups.due(jobs, today, until)
    ]


def rows_json(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        item: dict[str, Any] = {}
        for k, v in dict(r).items():
            if isinstance(v, UUID):
                item[k] = str(v)
            elif isinstance(v, date):
                item[k] = v.isoformat()
            else:
                item[k] = v
        out.append(item)
    return out
