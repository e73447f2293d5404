"""Key-encryption keys (KEKs): what wraps the per-participant data keys, kept outside the database.

The service database holds only *wrapped* data keys (schema ``keys``); the KEK that unwraps
them lives in a file or environment variable (development) or in an HSM reached through
PKCS#11 (SoftHSM2 on this machine, a network HSM in production). A database backup alone
therefore decrypts nothing. Every wrap binds the subject id as associated data, so a wrapped
key copied to another subject's row does not unwrap.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import files


class KeyProvider(Protocol):
    """Wraps and unwraps data keys under named KEKs; ``current`` names the KEK new wraps use."""

    @property
    def current(self) -> str: ...

    def wrap(self, dek: bytes, subject_id: str) -> tuple[str, bytes]:
        """``(kek_id, wrapped)`` under the current KEK."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, subject_id: str) -> bytes: ...


class KekUnavailable(LookupError):
    """The KEK named by a wrapped key is not held by this provider."""


@dataclass
class LocalKeyProvider:
    """KEKs as raw AES-256 keys in memory, loaded from a JSON file or an environment variable.

    For development and tests: the file lies outside the database (``.local/kek.json`` by
    default, mode 0600) and has its own backup. Rotation adds a key and makes it current."""

    keys: dict[str, bytes]
    current_id: str
    path: Path | None = None

    @property
    def current(self) -> str:
        return self.current_id

    def wrap(self, dek: bytes, subject_id: str) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        return self.current_id, nonce + AESGCM(self.keys[self.current_id]).encrypt(nonce, dek, subject_id.encode())

    def unwrap(self, kek_id: str, wrapped: bytes, subject_id: str) -> bytes:
        kek = self.keys.get(kek_id)
        if kek is None:
            raise KekUnavailable(kek_id)
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], subject_id.encode())

    def rotate(self) -> str:
        """A new KEK becomes current (old ones stay, to unwrap until everything is rewrapped)."""
        kek_id = f"local-{len(self.keys) + 1}-{os.urandom(3).hex()}"
        self.keys[kek_id] = AESGCM.generate_key(bit_length=256)
        self.current_id = kek_id
        if self.path is not None:
            files.replace(self.path, self._document())
        return kek_id

    def retire(self, kek_id: str) -> None:
        """Forget an old KEK (after rewrapping): backups wrapped under it become unreadable."""
        if kek_id == self.current_id:
            raise ValueError("the current KEK cannot be retired")
        self.keys.pop(kek_id, None)
        if self.path is not None:
            files.replace(self.path, self._document())

    def _document(self) -> bytes:
        keys = {k: base64.b64encode(v).decode() for k, v in self.keys.items()}
        return orjson.dumps({"current": self.current_id, "keys": keys})

    @classmethod
    def from_document(cls, raw: bytes, path: Path | None = None) -> LocalKeyProvider:
        doc = orjson.loads(raw)
        keys = {str(k): base64.b64decode(v) for k, v in doc["keys"].items()}
        if doc["current"] not in keys or any(len(k) != 32 for k in keys.values()):
            raise ValueError("KEK document: 'current' must name one of 'keys', each 32 bytes (base64)")
        return cls(keys, str(doc["current"]), path)

    @classmethod
    def from_file(cls, path: Path) -> LocalKeyProvider:
        """The KEK file, made on first use (one process wins the race; the others read its file)."""
        if not path.exists():
            first = cls({"local-1": AESGCM.generate_key(bit_length=256)}, "local-1")
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                files.create_private(path, first._document())
        return cls.from_document(path.read_bytes(), path)


@dataclass
class Pkcs11KeyProvider:
    """KEKs as non-extractable AES keys inside a PKCS#11 token (HSM); wrapping is AES-GCM done
    by the token, so the KEK never leaves it. ``kek_id`` is the key's label on the token.

    Calls are synchronous and short (SoftHSM2 runs in-process; a network HSM costs a round
    trip, which ``SubjectKeys`` hides behind its cache of unwrapped keys). One session per
    provider, serialised by a lock (PKCS#11 sessions are not thread-safe)."""

    module: str
    token_label: str
    pin: str
    key_label: str
    _session: Any = field(default=None, init=False, repr=False)
    _handles: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def current(self) -> str:
        return self.key_label

    def _open(self) -> Any:
        if self._session is None:
            import pkcs11  # the HSM's library is needed only where this provider is configured
            from pkcs11.exceptions import UserAlreadyLoggedIn

            token = pkcs11.lib(self.module).get_token(token_label=self.token_label)
            try:
                self._session = token.open(user_pin=self.pin, rw=True)
            except UserAlreadyLoggedIn:  # login is per process: another session of it logged in
                self._session = token.open(rw=True)
        return self._session

    def _key(self, label: str) -> Any:
        from pkcs11 import KeyType, ObjectClass
        from pkcs11.exceptions import NoSuchKey

        if label not in self._handles:  # a token search costs more than the wrap itself
            try:
                found = self._open().get_key(object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=label)
            except NoSuchKey:
                raise KekUnavailable(label) from None
            self._handles[label] = found
        return self._handles[label]

    def wrap(self, dek: bytes, subject_id: str) -> tuple[str, bytes]:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        nonce = os.urandom(12)
        with self._lock:
            sealed = self._key(self.key_label).encrypt(
                dek, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, subject_id.encode(), 128)
            )
        return self.key_label, nonce + bytes(sealed)

    def unwrap(self, kek_id: str, wrapped: bytes, subject_id: str) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        with self._lock:
            return bytes(
                self._key(kek_id).decrypt(
                    wrapped[12:],
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(wrapped[:12], subject_id.encode(), 128),
                )
            )

    def generate(self, label: str) -> str:
        """A new KEK on the token (sensitive, not extractable); becomes current. Rotation."""
        from pkcs11 import Attribute, KeyType

        with self._lock:
            self._open().generate_key(
                KeyType.AES,
                256,
                label=label,
                store=True,
                template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        self.key_label = label
        return label

    def destroy(self, label: str) -> None:
        """Remove an old KEK from the token (after rewrapping; backups under it go dark)."""
        if label == self.key_label:
            raise ValueError("the current KEK cannot be destroyed")
        with self._lock:
            self._key(label).destroy()
            self._handles.pop(label, None)


def provider_from_settings(kind: str, *, kek_file: str, kek_env: str, pkcs11: dict[str, str]) -> KeyProvider:
    """The provider the settings name: ``file`` (default), ``env`` or ``pkcs11``."""
    if kind == "file":
        return LocalKeyProvider.from_file(Path(kek_file))
    if kind == "env":
        raw = os.environ.get(kek_env, "")
        if not raw:
            raise ValueError(f"{kek_env} is empty: set it to a KEK document (JSON: current, keys)")
        return LocalKeyProvider.from_document(raw.encode())
    if kind == "pkcs11":
        return Pkcs11KeyProvider(pkcs11["module"], pkcs11["token"], pkcs11["pin"], pkcs11["key"])
    raise ValueError(f"kek_provider: unknown kind {kind!r} (file, env or pkcs11)")


_installed: KeyProvider | None = None


def install(provider: KeyProvider) -> None:
    """The process's provider (one service per process; the runtime installs it on connect)."""
    global _installed
    _installed = provider


def installed() -> KeyProvider:
    """The installed provider, or the development file provider if none was installed."""
    global _installed
    if _installed is None:
        _installed = LocalKeyProvider.from_file(Path(os.environ.get("REHAPRO_KEK_FILE", ".local/kek.json")))
    return _installed
