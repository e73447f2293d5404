"""Ed25519 keys of the checkpoints: a key ring file per service (the last key signs), signing and
verifying the canonical JSON of a payload.

The file is JSON ``{"keys": [{"key_id": ..., "private_key": <base64 raw 32 bytes>}, ...]}``,
kept outside the database like the KEK and the token keys; ``rotate`` appends a new key, and the
service publishes it endorsed by the one before (``shared.audit.checkpoints``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def canonical(data: dict[str, Any]) -> bytes:
    """The bytes a signature covers: JSON with sorted keys (as the envelope's hash)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def key_id_of(public_key: str) -> str:
    """A short, stable name for a public key (base64): its SHA-256, first 16 hex digits."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_b64(cls, private_key: str) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key)))

    @property
    def public_key(self) -> str:
        return b64(self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def private_b64(self) -> str:
        return b64(self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def sign(self, data: dict[str, Any]) -> str:
        return b64(self.private.sign(canonical(data)))


def verify_signature(public_key: str, signature: str, data: dict[str, Any]) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), canonical(data))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_keyring(path: Path) -> list[SigningKey]:
    """The keys of a ring file, oldest first (the last one signs)."""
    data = json.loads(path.read_text())
    return [SigningKey.from_b64(k["private_key"]) for k in data["keys"]]


def rotate(path: Path) -> SigningKey:
    """Append a new key to the ring (created if missing, readable by its owner only)."""
    keys = load_keyring(path) if path.exists() else []
    new = SigningKey.generate()
    keys.append(new)
    body = {"keys": [{"key_id": k.key_id, "private_key": k.private_b64()} for k in keys]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(body, indent=2) + "\n")
    return new
