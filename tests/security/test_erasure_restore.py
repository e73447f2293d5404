"""Erasure that survives a restore: intake and casework are dumped, the participant erased,
both databases restored from the dumps (the wrapped keys are back in them) and the services
started on them; before they serve, the erasure on intake.events is applied again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI

from services.casework.app import build as build_casework
from services.intake.app import build as build_intake
from shared.auth import issue_token
from shared.vocabulary import Role
from tests import support
from tests.security.conftest import pg_bin
from tests.security.test_envelope_keys import run
from tests.support import REFERRAL

Apps = dict[str, tuple[FastAPI, httpx.AsyncClient]]


def headers(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject='u-1', role=role, agency='jc-en')}"}


@asynccontextmanager
async def services(prefix: str, urls: dict[str, str], kek_file: Path) -> AsyncIterator[Apps]:
    apps: Apps = {}
    async with AsyncExitStack() as exits:
        for name, build in (("intake", build_intake), ("casework", build_casework)):
            app = build(
                database_url=urls[name],
                topic_prefix=prefix,
                kafka_bootstrap=support.KAFKA,
                log_json=False,
                kek_file=str(kek_file),
            )
            await exits.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            await exits.enter_async_context(client)
            apps[name] = (app, client)
        apps["casework"][0].state.intake_transport = httpx.ASGITransport(app=apps["intake"][0])
        yield apps


async def wrapped_key(url: str, pid: str) -> bytes | None:
    conn = await asyncpg.connect(url)
    try:
        value = await conn.fetchval("SELECT wrapped FROM keys.subject_keys WHERE subject_id = $1", pid)
        return None if value is None else bytes(value)
    finally:
        await conn.close()


async def enrol(intake: httpx.AsyncClient) -> str:
    cm = headers(Role.CASE_MANAGER)
    r = await intake.post("/referrals", json=REFERRAL, headers=cm)
    assert r.status_code == 201, r.text
    pid: str = r.json()["participant_id"]
    steps = [
        ("information-meeting", {"held_on": "2026-03-05"}),
        ("eligibility", {"checked_on": "2026-03-09", "voluntary": True, "willing_to_address_impairments": True}),
        ("consents", {"purpose": "participation", "granted_on": "2026-03-09", "form": "written"}),
        ("enrolment", {"start_date": "2026-03-16"}),
    ]
    for path, body in steps:
        s = await intake.post(f"/participants/{pid}/{path}", json=body, headers=cm)
        assert s.status_code in (200, 201), s.text
    return pid


async def test_a_restore_from_before_an_erasure_forgets_again_before_serving(tmp_path: Path) -> None:
    run_id = support.run_id()
    prefix = f"{run_id}."
    await support.create_topics([f"{prefix}{name}.events" for name in support.SERVICES])
    names = {s: f"{run_id}_{s}" for s in ("intake", "casework")}
    urls = {s: await support.create_database(n) for s, n in names.items()}
    kek = tmp_path / "kek.json"
    cm = headers(Role.CASE_MANAGER)

    async with services(prefix, urls, kek) as apps:
        intake, casework = apps["intake"][1], apps["casework"][1]
        pid = await enrol(intake)
        case = f"/cases/{pid}"
        await support.eventually(lambda: casework.get(case, headers=cm), lambda r: r.status_code == 200)
        assign = {"case_manager": "u-1", "assigned_on": "2026-03-16"}
        assert (await casework.post(f"{case}/case-manager", json=assign, headers=cm)).status_code == 200
        note = {"written_on": "2026-03-20", "text": "Anna called about her therapy"}
        assert (await casework.post(f"{case}/notes", json=note, headers=cm)).status_code == 201

        dumps = {s: tmp_path / f"{s}.dump" for s in urls}
        for s, path in dumps.items():
            await run(str(pg_bin("pg_dump")), "-Fc", "-f", str(path), urls[s])

        dpo = headers(Role.DATA_PROTECTION_OFFICER)
        erased = await intake.post(f"/participants/{pid}/erasure", json={"legal_basis": "Art. 17 GDPR"}, headers=dpo)
        assert erased.status_code == 200, erased.text
        await support.eventually(lambda: wrapped_key(urls["casework"], pid), lambda k: k is None)

    restored = {s: f"{n}_restored" for s, n in names.items()}
    restored_urls = {}
    for s, name in restored.items():
        restored_urls[s] = await support.create_database(name)
        await run(str(pg_bin("pg_restore")), "--no-owner", "-d", restored_urls[s], str(dumps[s]))
        assert await wrapped_key(restored_urls[s], pid) is not None  # the backup brings the key back

    async with services(prefix, restored_urls, kek) as apps:
        # started = ready to serve: the erasure is applied again already
        for s in restored_urls:
            assert await wrapped_key(restored_urls[s], pid) is None, s
        person = await apps["intake"][1].get(f"/participants/{pid}", headers=cm)
        assert "Anna" not in person.text
        notes = await apps["casework"][1].get(f"/cases/{pid}/timeline", headers=cm)
        assert "Anna" not in notes.text

    # a second start reads the topic only from where the first stopped (its checkpoint)
    conn = await asyncpg.connect(restored_urls["intake"])
    try:
        scanned = await conn.fetchval("SELECT sum(next_offset) FROM keys.erasure_scan")
    finally:
        await conn.close()
    assert scanned > 0
    await asyncio.sleep(0)
    for name in [*names.values(), *restored.values()]:
        support.drop_database_later(name)
