"""Seal by declaration on the real stack: the free text the security review found in clear —
an intervention's provider, a skipped phase's reason, a medical release's doctor, a § 76
objection, a workplace adaptation — is in no event of any store (so on no topic), and the
services still show it to those allowed to read it."""

from __future__ import annotations

import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e

SECRETS = ("Suchtberatung", "Rückfall", "Dr. Weber", "Klinik Sonnenhang")


async def raw_events(stack: Stack) -> bytes:
    out = b""
    for name in support.SERVICES:
        pool = stack.runtime(name).pool
        assert pool is not None
        out += b"".join(bytes(r["envelope"]) for r in await pool.fetch("SELECT envelope FROM events"))
    return out


async def test_health_revealing_free_text_travels_only_sealed(stack: Stack) -> None:
    pid = await refer_and_enrol(stack)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    p, c = f"/participants/{pid}", f"/cases/{pid}"

    release = {"purpose": "medical-release", "granted_on": "2026-03-10", "form": "written", "scope": "Dr. Weber"}
    assert (await intake.post(f"{p}/consents", json=release, headers=cm)).status_code == 201
    objection = {"recorded_on": "2026-03-10", "scope": "Klinik Sonnenhang"}
    assert (await intake.post(f"{p}/objections", json=objection, headers=cm)).status_code == 201

    await support.eventually(lambda: casework.get(c, headers=cm), lambda r: r.status_code == 200)
    assign = {"case_manager": "cm-1", "assigned_on": "2026-03-16"}
    assert (await casework.post(f"{c}/case-manager", json=assign, headers=cm)).status_code == 200
    skip = {"phase": "stabilisierung", "entered_on": "2026-03-20", "reason": "Rückfall, erst stabilisieren"}
    assert (await casework.post(f"{c}/phase", json=skip, headers=cm)).status_code == 200, "phase"
    plan = {"category": "employment-promotion", "provider": "Suchtberatung Hagen", "planned_start": "2026-03-23"}
    r = await casework.post(f"{c}/interventions", json=plan, headers=cm)
    assert r.status_code == 201, r.text

    stored = await raw_events(stack)
    for secret in SECRETS:
        assert secret.encode() not in stored, secret

    person = (await intake.get(p, headers=cm)).json()
    assert [c["scope"] for c in person["consents"] if c["purpose"] == "medical-release"] == ["Dr. Weber"]
    assert [o["scope"] for o in person["objections"]] == ["Klinik Sonnenhang"]
    timeline = (await casework.get(f"{c}/timeline", headers=cm)).text
    assert "Suchtberatung Hagen" in timeline
    assert "Rückfall" in timeline
