"""reporting's plans projection on real PostgreSQL: a project's plan, wage subsidies and
intervention costs land as rows without participant ids, and an erasure re-keys them."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.reporting.projections import erasure_key, plans
from shared.contracts.casework import InterventionCompleted, InterventionPlanned
from shared.contracts.common import InterventionCategory
from shared.contracts.intake import ParticipantDataErased
from shared.contracts.placement import WageSubsidyGranted
from shared.envelope import new_id
from shared.projections import ProjectionRunner
from tests.integration.test_reporting_facts import record

_KEYS = (
    "SELECT participant_key FROM proj_plans.plan_interventions"
    " UNION ALL SELECT participant_key FROM proj_plans.plan_subsidies"
)


async def test_subsidies_and_costs_are_kept_by_project_and_erasure_rekeys_them(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, plans, "proj_plans")
    await runner.setup()
    pid, iid, sid = new_id(), new_id(), new_id()
    planned = InterventionPlanned(
        case_id=pid, intervention_id=iid, category=InterventionCategory.THERAPEUTIC,
        planned_start=date(2026, 4, 1), cost_eur=800,
    )  # fmt: skip
    done = InterventionCompleted(
        case_id=pid, intervention_id=iid, category=InterventionCategory.THERAPEUTIC, completed_on=date(2026, 5, 1)
    )
    subsidy = WageSubsidyGranted(
        subsidy_id=sid, participant_id=pid, employment_id=new_id(), instrument="16i",
        granted_on=date(2026, 6, 1), months=24, percent_first_year=100,
    )  # fmt: skip
    await runner.apply(
        [record(0, f"case-{pid}", 1, planned), record(1, f"case-{pid}", 2, done), record(2, f"cand-{pid}", 1, subsidy)]
    )
    spend = await pool.fetchrow(
        "SELECT project, agency, planned_cost, cost, completed_on FROM proj_plans.plan_interventions"
    )
    assert spend is not None
    assert dict(spend) == {  # project and agency from the envelope; no cost on completion: none
        "project": "pro-aktiv", "agency": "jc-en", "planned_cost": 800, "cost": None,
        "completed_on": date(2026, 5, 1),
    }  # fmt: skip
    granted = await pool.fetchrow("SELECT project, instrument, months, participant_key FROM proj_plans.plan_subsidies")
    assert granted is not None
    assert (granted["project"], granted["instrument"], granted["months"]) == ("pro-aktiv", "16i", 24)
    assert bytes(granted["participant_key"]) == erasure_key(pid)

    erased = ParticipantDataErased(participant_id=pid, erased_on=date(2026, 7, 1), legal_basis="Art. 17 GDPR")
    await runner.apply([record(3, f"participant-{pid}", 1, erased)])
    rows = await pool.fetch(_KEYS)
    keys = [bytes(r["participant_key"]) for r in rows]
    assert erasure_key(pid) not in keys
    assert len(set(keys)) == 1  # still one (unlinkable) person behind both rows
