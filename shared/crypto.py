"""Crypto-shredding: personal data inside events is sealed with one key per data subject.

Events stay immutable and their hash chain intact; destroying a subject's key makes every
sealed field of that subject unreadable for good (erasure without rewriting history). Keys
live in the owning service's database and never travel on a topic.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.db import Conn

KEYS_SQL = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id text PRIMARY KEY,
    key        bytea,
    erased_at  timestamptz
);
"""

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


# The subject's key, made if missing, in one round trip. The insert's RETURNING gives a new key;
# an existing row comes from the second branch (a row committed by a concurrent creator after
# this statement's snapshot comes from neither: then key_for reads it once more).
_GET_OR_CREATE = """
WITH ins AS (
    INSERT INTO subject_keys (subject_id, key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING key
)
SELECT key FROM ins
UNION ALL
SELECT key FROM subject_keys WHERE subject_id = $1
LIMIT 1
"""


class SubjectKeys:
    """Per-subject AES-GCM keys in PostgreSQL (table ``subject_keys``)."""

    async def key_for(self, conn: Conn, subject_id: str, *, create: bool = False) -> bytes:
        if create:
            row = await conn.fetchrow(_GET_OR_CREATE, subject_id, AESGCM.generate_key(bit_length=256))
            if row is not None:
                if row["key"] is None:
                    raise KeyErased(subject_id)
                return bytes(row["key"])
        row = await conn.fetchrow("SELECT key, erased_at FROM subject_keys WHERE subject_id = $1", subject_id)
        if row is None or row["key"] is None:
            raise KeyErased(subject_id)
        return bytes(row["key"])

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
        await conn.execute(
            "INSERT INTO subject_keys (subject_id, key, erased_at) VALUES ($1, NULL, now())"
            " ON CONFLICT (subject_id) DO UPDATE SET key = NULL, erased_at = now()",
            subject_id,
        )
