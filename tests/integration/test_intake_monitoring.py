"""Intake's identity look-up for the monitoring export, on real PostgreSQL (intake alone: no
relay, no consumers). Each case failed on the hand-written rules it replaced:

- the consent's expiry day counted as active (``exp >= today``), unlike the domain and README;
- an erased participant with monitoring consent made the whole request fail (500);
- the running agency was re-derived as the referring one until enrolment, so a DRV referral
  run by a Jobcenter was released to DRV's reporting and withheld from the Jobcenter's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from services.intake.app import build
from shared.auth import issue_token
from shared.settings import load_settings
from shared.vocabulary import Role

DAY = date(2026, 6, 1)


def token(role: Role, agency: str, subject: str = "user-1") -> dict[str, str]:
    secret = load_settings("test").jwt_secret
    return {"Authorization": f"Bearer {issue_token(secret, subject=subject, role=role, agency=agency)}"}


CM = token(Role.CASE_MANAGER, "jc-en")
DRV = token(Role.DRV_ADVISER, "drv-westfalen")
DPO = token(Role.DATA_PROTECTION_OFFICER, "jc-en")


@pytest.fixture
async def intake(pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = build(clock=lambda: DAY, database_url=pg_url, relay_enabled=False, projections_enabled=False, log_json=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client,
    ):
        yield client


async def participant(intake: httpx.AsyncClient, headers: dict[str, str] = CM, **referral: Any) -> str:
    identity = {"first_name": "Erika", "last_name": "M", "birth_date": "1980-01-15", "insurance_number": "12150180A111"}
    body = {"project": "pro-aktiv", "received_on": "2026-03-02", "identity": identity, "reason": "r", **referral}
    r = await intake.post("/referrals", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["participant_id"])


async def monitoring_consent(intake: httpx.AsyncClient, pid: str, expires_on: str | None = None) -> None:
    body = {"purpose": "monitoring", "granted_on": "2026-03-02", "form": "written", "expires_on": expires_on}
    r = await intake.post(f"/participants/{pid}/consents", json=body, headers=CM)
    assert r.status_code == 201, r.text


async def released(intake: httpx.AsyncClient, pids: list[str], agency: str = "jc-en") -> list[str]:
    body = {"participant_ids": pids, "reference_date": "2026-06-30", "half_year": "2026-H1", "on_behalf_of": "lead"}
    r = await intake.post(
        "/internal/monitoring/identities", json=body, headers=token(Role.SERVICE, agency, "reporting")
    )
    assert r.status_code == 200, r.text
    return [i["participant_id"] for i in r.json()["identities"]]


async def test_consent_expiring_today_is_no_longer_active(intake: httpx.AsyncClient) -> None:
    expiring, open_ended = await participant(intake), await participant(intake)
    await monitoring_consent(intake, expiring, expires_on=DAY.isoformat())
    await monitoring_consent(intake, open_ended)
    assert await released(intake, [expiring, open_ended]) == [open_ended]
    consents = (await intake.get(f"/participants/{expiring}/consents", headers=CM)).json()
    assert [c["active"] for c in consents] == [False]  # the same rule in the participant's view


async def test_an_erased_participant_is_withheld(intake: httpx.AsyncClient) -> None:
    erased, kept = await participant(intake), await participant(intake)
    for pid in (erased, kept):
        await monitoring_consent(intake, pid)
    body, headers = {"legal_basis": "Art. 17 GDPR"}, {**DPO, "Idempotency-Key": "erase-1"}
    r = await intake.post(f"/participants/{erased}/erasure", json=body, headers=headers)
    assert r.status_code == 200, r.text
    # key and event in the bus's transaction (the key store's block is a savepoint in it)
    again = await intake.post(f"/participants/{erased}/erasure", json=body, headers=headers)
    assert again.json() == r.json() == {"participant_id": erased, "status": "erased", "version": 3}
    assert (await intake.get(f"/participants/{erased}", headers=CM)).status_code == 404
    assert await released(intake, [erased, kept]) == [kept]


async def test_the_running_agency_decides_before_enrolment(intake: httpx.AsyncClient) -> None:
    pid = await participant(intake, DRV, agency="jc-en")  # DRV refers, jc-en runs the case
    await monitoring_consent(intake, pid)
    assert await released(intake, [pid], agency="jc-en") == [pid]
    assert await released(intake, [pid], agency="drv-westfalen") == []
