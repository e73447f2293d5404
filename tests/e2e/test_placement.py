"""Placement end to end on the real stack: a capacity profile shared by casework travels
through the relay and Kafka into placement's pool; the candidate is matched, proposed, tried,
employed, cared for and followed up at 6 and 12 months; withdrawn consent removes them.

Casework's and intake's consent/profile commands are built in parallel, so this test appends
their events straight to their event stores (after a real enrolment opened the case); the
relay and Kafka carry them as in production.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from services.placement.projections import board as board_projection
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CapacityProfileRetracted, CapacityProfileShared
from shared.contracts.common import CapacityProfile, ConsentPurpose
from shared.contracts.intake import ConsentGranted, ConsentWithdrawn, ParticipantDataErased
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext
from shared.rebuild import compare, rebuild_from_kafka
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol
from tests.support import PROFILE

pytestmark = pytest.mark.e2e

EMPLOYER = {
    "company": "Hagener Metallbau GmbH",
    "sector": "metal",
    "size": "small",
    "region": "Hagen",
    "contact_persons": [{"name": "Petra Lindner", "position": "HR", "phone": "02331 123456"}],
    "offers_work_trials": True,
    "offers_adapted_workplaces": True,
    "acquired_on": "2026-03-01",
}

WAREHOUSE = {
    "title": "Lagerhelfer/in Kommissionierung",
    "tasks": "picking, packing, scanning",
    "hours_per_week": 25,
    "demands": {"lifting": "light", "standing": "moderate", "mental_load": "light", "customer_contact": False},
    "possible_adaptations": ["height-adjustable desk"],
    "recorded_on": "2026-04-01",
}
NIGHT_SHIFT = {
    "title": "Maschinenbediener/in Nachtschicht",
    "hours_per_week": 38,
    "demands": {"lifting": "heavy", "shift_work": True, "night_work": True},
    "recorded_on": "2026-04-01",
}


async def append(stack: Stack, service: str, stream_id: str, stream_type: str, *events: DomainEvent) -> None:
    """Append another service's events in its own store (its relay publishes them)."""
    rt = stack.runtime(service)
    assert rt.pool is not None
    assert rt.store is not None
    async with rt.pool.acquire() as conn, conn.transaction():
        version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id)
        await rt.store.append(
            conn,
            stream_id=stream_id,
            stream_type=stream_type,
            expected_version=version,
            events=list(events),
            context=CommandContext(
                actor=Actor(id=f"{service}-test", role="service"),
                agency="jc-en",
                project="pro-aktiv",
                correlation_id=new_id(),
            ),
        )


async def enrolled_with_open_case(stack: Stack) -> str:
    pid = await refer_and_enrol(stack)
    await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=stack.token(Role.CASE_MANAGER, "jc-en")),
        lambda r: r.status_code == 200,
    )
    return pid


async def share_profile(stack: Stack, pid: str, profile: CapacityProfile = PROFILE) -> None:
    shared = CapacityProfileShared(
        case_id=pid,
        participant_id=pid,
        agency="jc-en",
        project="pro-aktiv",
        profile=profile,
        shared_on=date(2026, 4, 1),
    )
    await append(stack, "casework", f"case-{pid}", "case", shared)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def pool_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    return {c["participant_id"] for c in ok(await client.get("/candidates", headers=headers))}


async def test_candidate_from_shared_profile_to_job_and_follow_ups_then_gone_on_retraction(stack: Stack) -> None:
    placement = stack.clients["placement"]
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "bak-1")
    pid = await enrolled_with_open_case(stack)
    assert await pool_ids(placement, officer) == set()  # enrolment alone tells placement nothing

    employer_id = ok(await placement.post("/employers", json=EMPLOYER, headers=officer), 201)["employer_id"]
    detail = ok(await placement.get(f"/employers/{employer_id}", headers=officer))
    assert detail["contact_persons"][0]["name"] == "Petra Lindner"
    good = ok(await placement.post("/vacancies", json=WAREHOUSE | {"employer_id": employer_id}, headers=officer), 201)[
        "vacancy_id"
    ]
    bad = ok(await placement.post("/vacancies", json=NIGHT_SHIFT | {"employer_id": employer_id}, headers=officer), 201)[
        "vacancy_id"
    ]

    await share_profile(stack, pid)
    await support.eventually(lambda: pool_ids(placement, officer), lambda ids: ids == {pid})

    # matching, both ways, with reasons
    options = await support.eventually(
        lambda: placement.get(f"/candidates/{pid}/vacancies", headers=officer),
        lambda r: len(r.json()["vacancies"]) == 2,
    )
    ranked = ok(await placement.get(f"/vacancies/{good}/candidates", headers=officer))["candidates"]
    assert [c["participant_id"] for c in ranked] == [pid]
    assert ranked[0]["score"] == 100
    assert {r["criterion"] for r in ranked[0]["reasons"]} >= {"hours", "lifting", "night_work", "adaptations"}
    options = options.json()["vacancies"]
    assert [v["vacancy_id"] for v in options] == [good, bad]
    assert options[1]["blocked"]
    night = next(r for r in options[1]["reasons"] if r["criterion"] == "night_work")
    assert night == {"criterion": "night_work", "verdict": "conflict", "points": 0, "weight": 5,
                     "text": "night work: required but not possible"}  # fmt: skip

    # proposal: idempotent retry, stale If-Match is a conflict
    version = ok(await placement.get(f"/candidates/{pid}", headers=officer))["version"]
    key = officer | {"Idempotency-Key": "prop-1"}
    body = {"vacancy_id": good, "proposed_on": "2026-04-02"}
    first = ok(
        await placement.post(f"/candidates/{pid}/proposals", json=body, headers=key | {"If-Match": str(version)}), 201
    )
    again = ok(await placement.post(f"/candidates/{pid}/proposals", json=body, headers=key), 201)
    assert first == again
    assert first["match_score"] == 100
    stale = await placement.post(f"/candidates/{pid}/proposals", json=body, headers=officer | {"If-Match": "1"})
    assert stale.status_code == 409
    assert (await placement.post(f"/candidates/{pid}/proposals", json=body, headers=officer)).status_code == 409

    # work trial → employment → subsidy → aftercare
    trial = ok(
        await placement.post(
            f"/candidates/{pid}/work-trials",
            json={
                "employer_id": employer_id,
                "vacancy_id": good,
                "started_on": "2026-05-04",
                "planned_end": "2026-05-29",
            },
            headers=officer,
        ),
        201,
    )["trial_id"]
    running = await support.eventually(
        lambda: placement.get("/work-trials", headers=officer), lambda r: len(r.json()) == 1
    )
    assert running.json()[0]["company"] == "Hagener Metallbau GmbH"
    ok(
        await placement.post(
            f"/candidates/{pid}/work-trials/{trial}/complete",
            json={"completed_on": "2026-05-29", "outcome": "offer"},
            headers=officer,
        )
    )
    job = {
        "employer_id": employer_id,
        "started_on": "2026-06-01",
        "type": "social-insurance",
        "subsidised": True,
        "hours_per_week": 25,
    }
    employment_id = ok(await placement.post(f"/candidates/{pid}/employments", json=job, headers=officer), 201)[
        "employment_id"
    ]
    subsidy = {"instrument": "16e", "granted_on": "2026-06-01", "months": 24, "percent_first_year": 75}
    base = f"/candidates/{pid}/employments/{employment_id}"
    ok(await placement.post(f"{base}/wage-subsidies", json=subsidy, headers=officer), 201)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    ok(await placement.post(f"{base}/aftercare", json={"started_on": "2026-06-01"}, headers=cm))

    # follow-ups become due by date; recording them appends EmploymentStatusVerified
    async def due(today: str) -> list[dict[str, Any]]:
        r = await placement.get("/follow-ups/due", params={"today": today}, headers=officer)
        return ok(r)["due"]  # type: ignore[no-any-return]

    await support.eventually(lambda: due("2026-12-01"), lambda d: len(d) == 1)
    assert await due("2026-11-20") == []
    [six] = await due("2026-12-01")
    assert (six["months_after_start"], six["due_on"], six["overdue"]) == (6, "2026-12-01", False)
    board = ok(await placement.get("/today", params={"today": "2026-12-01"}, headers=officer))
    assert [f["employment_id"] for f in board["follow_ups_due"]] == [employment_id]
    follow = {"months_after_start": 6, "verified_on": "2026-12-01", "still_employed": True}
    ok(await placement.post(f"{base}/follow-ups", json=follow, headers=officer), 201)
    await support.eventually(lambda: due("2026-12-01"), lambda d: d == [])
    early = await placement.post(
        f"{base}/follow-ups", json=follow | {"months_after_start": 12, "verified_on": "2026-12-02"}, headers=officer
    )
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "verified_on"
    ok(await placement.post(f"{base}/aftercare/end", json={"ended_on": "2026-12-01"}, headers=cm))
    assert [f["months_after_start"] for f in await due("2027-06-01")] == [12]
    follow12 = {"months_after_start": 12, "verified_on": "2027-06-01", "still_employed": True}
    ok(await placement.post(f"{base}/follow-ups", json=follow12, headers=officer), 201)
    await support.eventually(lambda: due("2027-06-30"), lambda d: d == [])

    history = await support.eventually(
        lambda: placement.get(f"/candidates/{pid}", headers=officer), lambda r: len(r.json()["follow_ups"]) == 2
    )
    h = history.json()
    assert [p["status"] for p in h["proposals"]] == ["employed"]
    assert h["work_trials"][0]["outcome"] == "offer"
    assert h["employments"][0]["aftercare_ended_on"] == "2026-12-01"
    assert h["wage_subsidies"][0]["instrument"] == "16e"

    # what casework and reporting consume: the K2 fields and the follow-up outcomes
    rt = stack.runtime("placement")
    assert rt.pool is not None
    types = [
        r[0]
        for r in await rt.pool.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", f"candidate-{pid}"
        )
    ]
    assert types == [
        "CandidateProfilePublished", "CandidateProposed", "WorkTrialStarted", "WorkTrialCompleted",
        "EmploymentStarted", "WageSubsidyGranted", "AftercareStarted", "EmploymentStatusVerified",
        "AftercareEnded", "EmploymentStatusVerified",
    ]  # fmt: skip
    started = await rt.pool.fetchval(
        "SELECT envelope FROM events WHERE stream_id = $1 AND event_type = 'EmploymentStarted'", f"candidate-{pid}"
    )
    assert b'"type":"social-insurance"' in started
    assert b'"subsidised":true' in started

    # retraction (consent withdrawn in casework): gone from pool and rankings at once
    retracted = CapacityProfileRetracted(
        case_id=pid, participant_id=pid, retracted_on=date(2027, 6, 2), reason="consent withdrawn"
    )
    await append(stack, "casework", f"case-{pid}", "case", retracted)
    await support.eventually(lambda: pool_ids(placement, officer), lambda ids: ids == set())
    assert ok(await placement.get(f"/vacancies/{good}/candidates", headers=officer))["candidates"] == []
    gone = ok(await placement.get(f"/candidates/{pid}", headers=officer))
    assert gone["in_pool"] is False
    assert gone["profile"] is None
    assert len(gone["employments"]) == 1  # the job itself stays on record
    again_prop = await placement.post(
        f"/candidates/{pid}/proposals", json={"vacancy_id": bad, "proposed_on": "2027-06-03"}, headers=officer
    )
    assert again_prop.status_code == 409
    assert b"Petra" not in b"".join(r[0] for r in await rt.pool.fetch("SELECT envelope FROM events"))

    # the board is a pure function of the topic: a replay from offset 0 equals the live copy
    await support.eventually(
        lambda: rt.pool.fetchval("SELECT count(*) FROM proj_board.candidates"),
        lambda n: n == 0,
    )
    await rebuild_from_kafka(rt.settings, board_projection, "proj_board_rebuild")
    differences = await compare(rt.settings, board_projection, "proj_board", "proj_board_rebuild")
    assert set(differences) >= {"employers", "vacancies", "employments", "follow_ups"}
    assert all(n == 0 for n in differences.values()), differences


async def test_intake_consent_safeguards_drv_visibility_and_erasure(stack: Stack) -> None:
    placement = stack.clients["placement"]
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "bak-1")
    drv = stack.token(Role.DRV_ADVISER, "drv-westfalen", "drv-1")
    mk = stack.token(Role.EMPLOYER_ACQUISITION, "jc-mk", "bak-mk")
    pid = await enrolled_with_open_case(stack)
    consent_id = new_id()
    await append(
        stack,
        "intake",
        f"participant-{pid}",
        "participant",
        ConsentGranted(participant_id=pid, consent_id=consent_id, purpose=ConsentPurpose.EMPLOYER_DISCLOSURE,
                       granted_on=date(2026, 3, 20), form="written"),
    )  # fmt: skip
    await share_profile(stack, pid)
    await support.eventually(lambda: pool_ids(placement, officer), lambda ids: ids == {pid})
    assert await pool_ids(placement, mk) == set()  # another Jobcenter sees nobody
    assert await pool_ids(placement, drv) == set()  # no drv-exchange consent yet
    assert (await placement.get(f"/candidates/{pid}", headers=drv)).status_code == 404  # existence is confidential

    drv_consent = ConsentGranted(participant_id=pid, consent_id=new_id(), purpose=ConsentPurpose.DRV_EXCHANGE,
                                 scope="drv-westfalen", granted_on=date(2026, 3, 21), form="written")  # fmt: skip
    await append(stack, "intake", f"participant-{pid}", "participant", drv_consent)
    await support.eventually(lambda: pool_ids(placement, drv), lambda ids: ids == {pid})
    assert (await placement.post("/employers", json=EMPLOYER, headers=drv)).status_code == 403  # read-only

    employer_id = ok(await placement.post("/employers", json=EMPLOYER, headers=officer), 201)["employer_id"]
    vacancy = ok(
        await placement.post("/vacancies", json=WAREHOUSE | {"employer_id": employer_id}, headers=officer), 201
    )["vacancy_id"]
    proposal = ok(
        await placement.post(
            f"/candidates/{pid}/proposals", json={"vacancy_id": vacancy, "proposed_on": "2026-04-02"}, headers=officer
        ),
        201,
    )["proposal_id"]
    bad = await placement.post(
        f"/candidates/{pid}/proposals", json={"vacancy_id": "nope", "proposed_on": "2026-04-02"}, headers=officer
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "vacancy_id"
    assert (
        await placement.post(
            f"/candidates/{pid}/proposals", json={"vacancy_id": vacancy, "proposed_on": "2026-04-02"}, headers=mk
        )
    ).status_code == 404  # another agency's candidate is "no such candidate"

    # employer-disclosure consent withdrawn at intake: out of the pool, the open proposal void
    withdrawn = ConsentWithdrawn(participant_id=pid, consent_id=consent_id, purpose=ConsentPurpose.EMPLOYER_DISCLOSURE,
                                 effective_on=date(2026, 4, 10))  # fmt: skip
    await append(stack, "intake", f"participant-{pid}", "participant", withdrawn)
    await support.eventually(lambda: pool_ids(placement, officer), lambda ids: ids == set())
    proposals = await support.eventually(
        lambda: placement.get("/proposals", params={"status": "all"}, headers=officer),
        lambda r: r.json() and r.json()[0]["status"] == "void",
    )
    assert proposals.json()[0]["proposal_id"] == proposal
    assert proposals.json()[0]["reason"] == "consent-withdrawn"
    # a late re-share of the profile cannot bring the candidate back without a new consent
    await share_profile(stack, pid, PROFILE.model_copy(update={"max_hours_per_week": 20}))
    rt = stack.runtime("placement")
    assert rt.pool is not None
    await support.eventually(lambda: rt.pool.fetchval("SELECT count(*) FROM proj_pool.pool_shares"), lambda n: n == 1)
    assert await pool_ids(placement, officer) == set()
    erased = ParticipantDataErased(participant_id=pid, erased_on=date(2026, 5, 1), legal_basis="Art. 17 GDPR")
    await append(stack, "intake", f"participant-{pid}", "participant", erased)
    await support.eventually(
        lambda: placement.get("/proposals", params={"status": "all"}, headers=officer), lambda r: r.json() == []
    )
    assert await pool_ids(placement, officer) == set()
    assert (await placement.get(f"/candidates/{pid}", headers=officer)).status_code == 404
    types = [
        r[0]
        for r in await rt.pool.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", f"candidate-{pid}"
        )
    ]
    assert types == [
        "CandidateProfilePublished", "CandidateProposed", "CandidateProfileWithdrawn", "CandidateProfileWithdrawn"
    ]  # fmt: skip
