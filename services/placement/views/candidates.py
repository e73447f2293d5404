"""The candidate pool as the caller may see it, one candidate's placement history, and the
open vacancies ranked for a candidate. Visibility is decided on ``ctx.today`` only: a
client-chosen day must not reopen a consent that has ended."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.placement import access, domain
from services.placement.views.ranking import open_vacancies, proposed_pairs, rank_vacancies
from services.placement.views.reads import Reads, loads, project_memberships, rows_json
from shared.bus import Context
from shared.domain import NotFound
from shared.principal import Principal

# A DRV adviser sees a candidate while a drv-exchange consent for their agency (or without
# scope) holds on the day: the one consent rule, in SQL (consent_active).
_DRV_ACTIVE_ONE = """
SELECT EXISTS (SELECT 1 FROM drv_exchange_consents d
               WHERE d.participant_id = $3
                 AND consent_active(d.granted_on, d.expires_on, d.ended_on, $1)
                 AND (d.scope IS NULL OR d.scope = '' OR d.scope = $2))
"""
_VISIBLE = """
SELECT c.participant_id, c.agency, c.project, c.profile, c.published_on,
       EXISTS (SELECT 1 FROM drv_exchange_consents d
               WHERE d.participant_id = c.participant_id
                 AND consent_active(d.granted_on, d.expires_on, d.ended_on, $1)
                 AND (d.scope IS NULL OR d.scope = '' OR d.scope = $2)) AS drv
FROM candidates c ORDER BY c.published_on, c.participant_id
"""

HISTORY = (
    ("proposals", "SELECT * FROM proposals WHERE participant_id = $1 ORDER BY proposed_on, proposal_id"),
    ("work_trials", "SELECT * FROM work_trials WHERE participant_id = $1 ORDER BY started_on, trial_id"),
    (
        "adaptation_requests",
        "SELECT * FROM adaptation_requests WHERE participant_id = $1 ORDER BY requested_on, request_id",
    ),
    ("employments", "SELECT * FROM employments WHERE participant_id = $1 ORDER BY started_on, employment_id"),
    ("wage_subsidies", "SELECT * FROM wage_subsidies WHERE participant_id = $1 ORDER BY granted_on, subsidy_id"),
    ("follow_ups", "SELECT * FROM follow_ups WHERE participant_id = $1 ORDER BY verified_on, months"),
)


async def drv_exchange_active(pool: asyncpg.Pool, participant_id: UUID, principal: Principal, day: date) -> bool:
    return bool(await pool.fetchval(_DRV_ACTIVE_ONE, day, principal.agency, participant_id))


async def visible_candidates(pool: asyncpg.Pool, principal: Principal, day: date) -> list[dict[str, Any]]:
    """The pool as this principal may see it (own agency; DRV under drv-exchange consent)."""
    rows = await pool.fetch(_VISIBLE, day, principal.agency)
    projects = await project_memberships(pool)
    return [
        {
            "participant_id": r["participant_id"],
            "agency": r["agency"],
            "project": r["project"],
            "profile": loads(r["profile"]),
            "published_on": r["published_on"],
        }
        for r in rows
        if access.can_see_candidate(principal, r["agency"], projects.get(r["project"], ()), r["drv"])
    ]


async def _visible(db: Reads, ctx: Context, participant_id: UUID) -> tuple[domain.Candidate, int]:
    """The candidate (and stream version), if the caller may see them today."""
    access.require_role(ctx.principal, access.READ_ROLES)
    loaded = await db.load(domain.candidate, domain.candidate_stream(participant_id))
    drv = await drv_exchange_active(db.pool, participant_id, ctx.principal, ctx.today)
    members = (await db.memberships()).get(loaded.state.project, ())
    return access.see_candidate(ctx.principal, loaded.state, members, drv), loaded.version


async def list_candidates(db: Reads, ctx: Context) -> list[dict[str, Any]]:
    """The pool: participants whose capacity profile is shared under employer-disclosure consent."""
    access.require_role(ctx.principal, access.READ_ROLES)
    rows = await visible_candidates(db.pool, ctx.principal, ctx.today)
    return [
        r | {"participant_id": str(r["participant_id"]), "published_on": r["published_on"].isoformat()} for r in rows
    ]


async def get_candidate(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """Pool status, the profile while in the pool, and the placement history."""
    state, version = await _visible(db, ctx, participant_id)
    out: dict[str, Any] = {
        "participant_id": str(participant_id),
        "agency": state.agency,
        "project": state.project,
        "in_pool": state.status == "active",
        "profile": state.profile.model_dump(mode="json") if state.profile is not None else None,
        "version": version,
    }
    for key, sql in HISTORY:
        out[key] = rows_json(list(await db.pool.fetch(sql, participant_id)))
    for row in out["adaptation_requests"]:  # v2: sealed under the participant's placement key
        sealed = row.pop("sealed_adaptation", "")
        if sealed:
            row["adaptation"] = await db.keys.open(str(participant_id), sealed)
    return out


async def rank_vacancies_for_candidate(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """Open vacancies (own agency and project partners), best fit first, with reasons."""
    state, _ = await _visible(db, ctx, participant_id)
    if state.profile is None:
        raise NotFound("the candidate is not in the pool")
    ranked = rank_vacancies(
        state.profile,
        await open_vacancies(db.pool, ctx.principal),
        participant_id,
        await proposed_pairs(db.pool),
    )
    return {"participant_id": str(participant_id), "vacancies": ranked}
