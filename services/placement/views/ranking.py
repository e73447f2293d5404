"""Matching on the read side: vacancies and candidates as the board knows them, ranked with
the reasons for each score (the rules themselves are ``domain.matching``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.placement import access
from services.placement.domain import matching
from services.placement.views.reads import Reads, loads, project_memberships
from shared.contracts.common import CapacityProfile
from shared.contracts.placement import JobDemands
from shared.db import Conn
from shared.principal import Principal
from shared.unit_of_work import UnitOfWork, connection_of

VACANCY_SQL = """
SELECT v.*, e.company, e.offers_adapted_workplaces, e.offers_work_trials
FROM vacancies v JOIN employers e USING (employer_id)
"""


def offer_from_row(row: Any) -> matching.JobOffer:
    return matching.JobOffer(
        hours_per_week=row["hours_per_week"],
        demands=JobDemands.model_validate(loads(row["demands"])),
        flexible_hours=row["flexible_hours"],
        possible_adaptations=tuple(loads(row["possible_adaptations"])),
        offers_adapted_workplaces=row["offers_adapted_workplaces"],
    )


class PostgresVacancyOffers:
    """The ``VacancyOffers`` port on the board projection (a proposal's match score)."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def offer(self, vacancy_id: UUID, uow: UnitOfWork) -> matching.JobOffer | None:
        row = await vacancy_row(connection_of(uow, self.reads.pool), vacancy_id)
        return None if row is None else offer_from_row(row)


def match_json(m: matching.Match) -> dict[str, Any]:
    return {
        "score": m.score,
        "blocked": m.blocked,
        "reasons": [
            {"criterion": r.criterion, "verdict": r.verdict, "points": r.points, "weight": r.weight, "text": r.text}
            for r in m.reasons
        ],
    }


async def vacancy_row(pool: Conn | asyncpg.Pool, vacancy_id: UUID) -> Any:
    return await pool.fetchrow(VACANCY_SQL + " WHERE v.vacancy_id = $1", vacancy_id)


async def open_vacancies(pool: asyncpg.Pool, principal: Principal, own_only: bool = False) -> list[Any]:
    agencies = (
        [principal.agency] if own_only else sorted(access.partners(principal.agency, await project_memberships(pool)))
    )
    return list(
        await pool.fetch(
            VACANCY_SQL
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
        "demands": loads(row["demands"]),
        "possible_adaptations": loads(row["possible_adaptations"]),
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
