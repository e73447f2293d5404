"""Crypto-shredding with envelope encryption: personal data inside events is sealed with one
data key per data subject, and each data key is stored *wrapped* by a key-encryption key (KEK)
that is never in the database (``shared.keyprovider``).

Events stay immutable and their hash chain intact; destroying a subject's wrapped key makes
every sealed field of that subject unreadable for good (erasure without rewriting history).
Wrapped keys live in the schema ``keys`` of the owning service's database (backed up on their
own, docs/SECURITY.md) and never travel on a topic. A dump of the database without the KEK
decrypts nothing; rotating the KEK rewraps the keys and touches no event.
"""

from __future__ import annotations

import base64
import os
from collections import OrderedDict
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import keyprovider
from shared.db import Conn
from shared.keyprovider import KeyProvider
from shared.migrations import SQL_DIR, migrate

KEYS_SCHEMA = "keys"
KEYS_MIGRATIONS = sorted((SQL_DIR / "keys").glob("*.sql"))

ERASED = "[erased]"


class KeyErased(LookupError):
    pass


def seal_with(key: bytes, value: Any, subject_id: str) -> str:
    nonce = os.urandom(12)
    data = AESGCM(key).encrypt(nonce, orjson.dumps(value), subject_id.encode())
    return base64.b64encode(nonce + data).decode()


def open_with(key: bytes, token: str, subject_id: str) -> Any:
    raw = base64.b64decode(token)
    return orjson.loads(AESGCM(key).decrypt(raw[:12], raw[12:], subject_id.encode()))


# The subject's wrapped key, made if missing, in one round trip. The insert's RETURNING gives a
# new key; an existing row comes from the second branch (a row committed by a concurrent creator
# after this statement's snapshot comes from neither: then key_for reads it once more).
_GET_OR_CREATE = """
WITH ins AS (
    INSERT INTO keys.subject_keys (subject_id, kek_id, wrapped) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING RETURNING kek_id, wrapped
)
SELECT kek_id, wrapped FROM ins
UNION ALL
SELECT kek_id, wrapped FROM keys.subject_keys WHERE subject_id = $1
LIMIT 1
"""

_GET = "SELECT kek_id, wrapped FROM keys.subject_keys WHERE subject_id = $1"

_ERASE = """
INSERT INTO keys.subject_keys (subject_id, kek_id, wrapped, erased_at) VALUES ($1, NULL, NULL, now())
ON CONFLICT (subject_id) DO UPDATE SET kek_id = NULL, wrapped = NULL, erased_at = now()
"""

_NOT_CURRENT = """
SELECT subject_id, kek_id, wrapped FROM keys.subject_keys
WHERE wrapped IS NOT NULL AND kek_id <> $1 ORDER BY subject_id LIMIT $2
"""

_REWRAP = "UPDATE keys.subject_keys SET kek_id = $2, wrapped = $3 WHERE subject_id = $1 AND kek_id = $4"

# Databases from before envelope encryption keep plain keys in public.subject_keys: on start
# they are wrapped into keys.subject_keys and the plain table is dropped (in one transaction).
_LEGACY_EXISTS = "SELECT to_regclass('public.subject_keys') IS NOT NULL"
_LEGACY_ROWS = "SELECT subject_id, key, erased_at FROM public.subject_keys"
_MOVE = """
INSERT INTO keys.subject_keys (subject_id, kek_id, wrapped, erased_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (subject_id) DO NOTHING
"""
_LEGACY_LOCK = "SELECT pg_advisory_xact_lock(hashtext('rehapro:legacy-subject-keys'))"

_CACHE_SIZE = 10_000


class SubjectKeys:
    """Per-subject AES-GCM data keys, wrapped by the provider's KEK (table ``keys.subject_keys``).

    Unwrapped keys are cached in memory by their wrapped bytes: every use still reads the row,
    so an erasure (row emptied) takes effect at once on every replica, while the KEK is asked
    once per key and process."""

    def __init__(self, provider: KeyProvider | None = None) -> None:
        self._provider = provider
        self._cache: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    @property
    def provider(self) -> KeyProvider:
        return self._provider if self._provider is not None else keyprovider.installed()

    async def prepare(self, conn: Conn) -> int:
        """Create the ``keys`` schema and wrap any plain legacy keys; returns how many moved."""
        await migrate(conn, KEYS_MIGRATIONS, schema=KEYS_SCHEMA)
        async with conn.transaction():
            await conn.execute(_LEGACY_LOCK)
            if not await conn.fetchval(_LEGACY_EXISTS):
                return 0
            rows = await conn.fetch(_LEGACY_ROWS)
            for row in rows:
                kek_id: str | None = None
                wrapped: bytes | None = None
                if row["key"] is not None:
                    kek_id, wrapped = self.provider.wrap(bytes(row["key"]), row["subject_id"])
                await conn.execute(_MOVE, row["subject_id"], kek_id, wrapped, row["erased_at"])
            await conn.execute("DROP TABLE public.subject_keys")
            return len(rows)

    def _unwrap(self, kek_id: str, wrapped: bytes, subject_id: str) -> bytes:
        cached = self._cache.get((subject_id, wrapped))
        if cached is not None:
            self._cache.move_to_end((subject_id, wrapped))
            return cached
        key = self.provider.unwrap(kek_id, wrapped, subject_id)
        self._remember(subject_id, wrapped, key)
        return key

    def _remember(self, subject_id: str, wrapped: bytes, key: bytes) -> None:
        self._cache[(subject_id, wrapped)] = key
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    async def key_for(self, conn: Conn, subject_id: str, *, create: bool = False) -> bytes:
        """The subject's key. An existing one costs one read; only a new subject's key is
        wrapped (a KEK call: about 1 ms in SoftHSM2, a round trip for a network HSM)."""
        row = await conn.fetchrow(_GET, subject_id)
        if row is None and create:
            dek = AESGCM.generate_key(bit_length=256)
            kek_id, wrapped = self.provider.wrap(dek, subject_id)
            row = await conn.fetchrow(_GET_OR_CREATE, subject_id, kek_id, wrapped)
            if row is not None and row["wrapped"] is not None and bytes(row["wrapped"]) == wrapped:
                self._remember(subject_id, wrapped, dek)  # ours: no unwrap needed
            if row is None:  # a concurrent creator committed after this statement's snapshot
                row = await conn.fetchrow(_GET, subject_id)
        if row is None or row["wrapped"] is None:
            raise KeyErased(subject_id)
        return self._unwrap(row["kek_id"], bytes(row["wrapped"]), subject_id)

    async def seal(self, conn: Conn, subject_id: str, value: Any) -> str:
        return seal_with(await self.key_for(conn, subject_id, create=True), value, subject_id)

    async def seal_many(self, conn: Conn, subject_id: str, *values: Any) -> list[str]:
        """Several values under one key lookup (one round trip for a request's sealed fields)."""
        key = await self.key_for(conn, subject_id, create=True)
        return [seal_with(key, value, subject_id) for value in values]

    async def open(self, conn: Conn, subject_id: str, token: str) -> Any:
        """The plain value, or ``ERASED`` once the subject's key is destroyed."""
        try:
            return open_with(await self.key_for(conn, subject_id), token, subject_id)
        except KeyErased:
            return ERASED

    async def erase(self, conn: Conn, subject_id: str) -> None:
        await conn.execute(_ERASE, subject_id)
        self._cache = OrderedDict((k, v) for k, v in self._cache.items() if k[0] != subject_id)

    async def rewrap(self, conn: Conn, batch: int = 500) -> int:
        """KEK rotation: rewrap every key not under the current KEK (events are not touched).
        Each batch commits on its own, so a long rotation can stop and resume."""
        done = 0
        current = self.provider.current
        while True:
            rows = await conn.fetch(_NOT_CURRENT, current, batch)
            if not rows:
                return done
            async with conn.transaction():
                for row in rows:
                    subject = row["subject_id"]
                    dek = self.provider.unwrap(row["kek_id"], bytes(row["wrapped"]), subject)
                    kek_id, wrapped = self.provider.wrap(dek, subject)
                    await conn.execute(_REWRAP, subject, kek_id, wrapped, row["kek_id"])
            done += len(rows)
