"""Envelope encryption on the real stack: a pg_dump of intake's database alone decrypts
nothing (the attacker tries every byte string in it as a key), the dump plus the KEK (kept and
backed up apart) restores a readable service, KEK rotation in a SoftHSM2 token rewraps every key
without touching an event, and plain keys from before are wrapped on start."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import keyprovider
from shared.crypto import SubjectKeys, open_with, seal_with
from shared.keyprovider import LocalKeyProvider, Pkcs11KeyProvider
from shared.vocabulary import Role
from tests import support
from tests.security.conftest import IntakeFactory, pg_bin
from tests.support import REFERRAL


def cm() -> dict[str, str]:
    from shared.auth import issue_token

    return {"Authorization": f"Bearer {issue_token('', subject='cm-1', role=Role.CASE_MANAGER, agency='jc-en')}"}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def attack(url: str) -> list[Any]:
    """What an attacker with the database alone can open: every bytea value of every table is
    tried as an AES key (and as a key after the first 12 bytes), on every sealed-looking string of
    every event, for every subject id found anywhere in the database."""
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            " AND (data_type = 'bytea' OR column_name IN ('subject_id', 'stream_id'))"
        )
        candidates: set[bytes] = set()
        subjects: set[str] = set()
        for c in columns:
            rows = await conn.fetch(f'SELECT "{c["column_name"]}" AS v FROM "{c["table_schema"]}"."{c["table_name"]}"')
            for r in rows:
                if r["v"] is None:
                    continue
                if c["data_type"] == "bytea":
                    raw = bytes(r["v"])
                    candidates.update(raw[i : i + 32] for i in (0, 12) if len(raw) >= i + 32)
                else:
                    subjects.add(str(r["v"]))
                    subjects.add(str(r["v"]).removeprefix("participant-"))
        sealed = [
            s
            for row in await conn.fetch("SELECT envelope FROM events")
            for s in _strings(orjson.loads(bytes(row["envelope"])))
            if (len(s) > 40 and s.endswith("=")) or len(s) > 60
        ]
    finally:
        await conn.close()
    opened = []
    for token in sealed:
        for key in candidates:
            for subject in subjects:
                try:
                    opened.append(open_with(key, token, subject))
                except Exception:
                    continue
    return opened


async def run(*argv: str) -> bytes:
    """A PostgreSQL client tool, awaited (its output)."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, argv
    return out


async def restore(path: Path, name: str) -> str:
    url = await support.create_database(name)
    await run(str(pg_bin("pg_restore")), "--no-owner", "-d", url, str(path))
    return url


async def test_a_dump_of_the_database_alone_decrypts_nothing(
    start_intake: IntakeFactory, intake_db: str, tmp_path: Path
) -> None:
    kek_file = tmp_path / "kek.json"
    async with start_intake(database_url=intake_db, kek_provider="file", kek_file=str(kek_file)) as (_, intake):
        r = await intake.post("/referrals", json=REFERRAL, headers=cm())
        assert r.status_code == 201, r.text
        pid = r.json()["participant_id"]

    backup = tmp_path / "intake.dump"
    await run(str(pg_bin("pg_dump")), "-Fc", "-f", str(backup), intake_db)
    plain = await run(str(pg_bin("pg_dump")), intake_db)  # the same dump as text
    for secret in (b"Anna", b"Beispiel", b"12170584B123", b"depressive"):
        assert secret not in plain
    assert base64.b64decode(orjson.loads(kek_file.read_bytes())["keys"]["local-1"]) not in plain

    restored_name = support.run_id()
    restored = await restore(backup, restored_name)
    assert await attack(restored) == []  # the backup alone: nothing opens

    # the backup together with the KEK (its own backup) restores a readable service
    async with start_intake(database_url=restored, kek_provider="file", kek_file=str(kek_file)) as (_, intake):
        got = await intake.get(f"/participants/{pid}", headers=cm())
        assert got.status_code == 200, got.text
        assert "Anna" in got.text
    support.drop_database_later(restored_name)


async def test_the_attack_opens_plain_keys(pg_url: str) -> None:
    """The attacker is real: on a database with plain keys (the layout before) it opens data."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(
            "CREATE TABLE subject_keys (subject_id text PRIMARY KEY, key bytea, erased_at timestamptz);"
            "CREATE TABLE events (stream_id text, envelope bytea)"
        )
        key = AESGCM.generate_key(bit_length=256)
        await conn.execute("INSERT INTO subject_keys VALUES ('p-1', $1, NULL)", key)
        envelope = orjson.dumps({"payload": {"identity": seal_with(key, {"first_name": "Anna"}, "p-1")}})
        await conn.execute("INSERT INTO events VALUES ('participant-p-1', $1)", envelope)
    finally:
        await conn.close()
    assert await attack(pg_url) == [{"first_name": "Anna"}]


async def test_plain_keys_from_before_are_wrapped_on_start(
    start_intake: IntakeFactory, intake_db: str, tmp_path: Path
) -> None:
    kek_file = tmp_path / "kek.json"
    async with start_intake(database_url=intake_db, kek_file=str(kek_file)) as (_, intake):
        r = await intake.post("/referrals", json=REFERRAL, headers=cm())
        pid = r.json()["participant_id"]
    # turn the database back into the old layout: the same data key, plain, in public.subject_keys
    provider = LocalKeyProvider.from_file(kek_file)
    conn = await asyncpg.connect(intake_db)
    try:
        row = await conn.fetchrow("SELECT kek_id, wrapped FROM keys.subject_keys WHERE subject_id = $1", pid)
        assert row is not None
        dek = provider.unwrap(row["kek_id"], bytes(row["wrapped"]), pid)
        await conn.execute(
            "CREATE TABLE public.subject_keys (subject_id text PRIMARY KEY, key bytea, erased_at timestamptz);"
            "DELETE FROM keys.subject_keys"
        )
        await conn.execute("INSERT INTO public.subject_keys VALUES ($1, $2, NULL), ('gone', NULL, now())", pid, dek)
    finally:
        await conn.close()

    async with start_intake(database_url=intake_db, kek_file=str(kek_file)) as (_, intake):
        got = await intake.get(f"/participants/{pid}", headers=cm())
        assert "Anna" in got.text
    conn = await asyncpg.connect(intake_db)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.subject_keys')") is None
        rows = {r["subject_id"]: r for r in await conn.fetch("SELECT * FROM keys.subject_keys")}
        assert rows["gone"]["wrapped"] is None
        assert rows["gone"]["erased_at"] is not None
        assert bytes(rows[pid]["wrapped"]) != dek
    finally:
        await conn.close()


async def test_kek_rotation_in_softhsm_rewraps_keys_and_leaves_events_alone(
    start_intake: IntakeFactory, intake_db: str, softhsm: dict[str, str]
) -> None:
    label = support.run_id()
    hsm = Pkcs11KeyProvider(softhsm["pkcs11_module"], softhsm["pkcs11_token"], softhsm["pkcs11_pin"], label)
    hsm.generate(f"{label}-a")
    settings = {**softhsm, "kek_provider": "pkcs11", "pkcs11_key": f"{label}-a", "database_url": intake_db}
    async with start_intake(**settings) as (app, intake):
        pids = []
        for _ in range(3):
            r = await intake.post("/referrals", json=REFERRAL, headers=cm())
            assert r.status_code == 201, r.text
            pids.append(r.json()["participant_id"])
        pool = app.state.runtime.pool
        events_before = await pool.fetch("SELECT position, hash, envelope FROM events ORDER BY position")
        assert {r["kek_id"] for r in await pool.fetch("SELECT kek_id FROM keys.subject_keys")} == {f"{label}-a"}

        provider = keyprovider.installed()
        assert isinstance(provider, Pkcs11KeyProvider)
        provider.generate(f"{label}-b")  # the new KEK, made inside the token
        async with pool.acquire() as conn:
            assert await SubjectKeys(provider).rewrap(conn) == 3
        assert {r["kek_id"] for r in await pool.fetch("SELECT kek_id FROM keys.subject_keys")} == {f"{label}-b"}
        assert await pool.fetch("SELECT position, hash, envelope FROM events ORDER BY position") == events_before
        provider.destroy(f"{label}-a")  # the old KEK is gone: what it wrapped is unreadable

    async with start_intake(**{**settings, "pkcs11_key": f"{label}-b"}) as (_, intake):
        for pid in pids:
            got = await intake.get(f"/participants/{pid}", headers=cm())
            assert got.status_code == 200, got.text
            assert "Anna" in got.text
