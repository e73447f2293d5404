"""Key grants for auditors: a participant's data key, opened inside the service and sealed for one
auditor's X25519 public key, so ``rehapro-audit case --grant`` can show that person's sealed
fields. The KEK never leaves the service and no other person's key is handed out.

grant (service side, ``python -m services.<name> grant-audit-key``) = read the participant's
data key (none after an erasure: no grant) -> record ``AuditKeyGranted`` (who, for which auditor
key, which participant, why) in the service's own history -> seal the key for the auditor:
X25519 with a fresh ephemeral key, HKDF-SHA256 over the grant's names, AES-256-GCM with the
grant id as associated data -> the grant file. open (auditor side) = the reverse, with the
auditor's private key; a grant for another participant or another auditor opens nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import orjson
import typer
import uvloop
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared import files, keyprovider
from shared.contracts.audit import AuditKeyGranted
from shared.crypto import KeyErased, SubjectKeys, open_with
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.eventstore import CommandContext, PostgresEventStore
from shared.settings import load_settings
from shared.vocabulary import Role

if TYPE_CHECKING:
    from shared.runtime import Runtime, ServiceDefinition

GRANTS_STREAM_TYPE = "audit-grant"  # not "audit": the checkpoints sign the grants too
_RAW = serialization.PublicFormat.Raw


def grants_stream(service: str) -> str:
    return f"audit-grants:{service}"


class GrantRefused(LookupError):
    """No grant can be made (the participant's key is erased, or there never was one)."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def fingerprint(public_key: bytes) -> str:
    """An auditor key's short name: the first 16 hex digits of SHA-256 over the raw key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class AuditorIdentity:
    """An auditor's X25519 key pair (the private half stays with the auditor)."""

    private_key: X25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, _RAW)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)

    def public_document(self) -> dict[str, str]:
        """What the auditor hands to the data protection officer (``auditor.pub``)."""
        return {"public_key": _b64(self.public_raw), "fingerprint": self.fingerprint}

    @classmethod
    def create(cls, path: Path) -> AuditorIdentity:
        """A new identity in ``path`` (0600; an existing file is never overwritten)."""
        identity = cls(X25519PrivateKey.generate())
        raw = identity.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        files.create_private(path, orjson.dumps({"private_key": _b64(raw)}))
        return identity

    @classmethod
    def load(cls, path: Path) -> AuditorIdentity:
        raw = base64.b64decode(orjson.loads(path.read_bytes())["private_key"])
        return cls(X25519PrivateKey.from_private_bytes(raw))


def load_auditor_key(path: Path) -> bytes:
    """The raw public key of an ``auditor.pub`` document (its fingerprint must match it)."""
    doc = orjson.loads(path.read_bytes())
    raw = base64.b64decode(doc["public_key"])
    if len(raw) != 32 or doc.get("fingerprint", fingerprint(raw)) != fingerprint(raw):
        raise ValueError(f"{path}: not an auditor public key (public_key: 32 bytes, base64; fingerprint)")
    return raw


@dataclass(frozen=True)
class Grant:
    """The grant file: one participant's data key at one service, sealed for one auditor key."""

    grant_id: str
    service: str
    participant_id: str
    auditor_key_id: str
    ephemeral_public_key: str
    sealed_key: str

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def load(cls, path: Path) -> Grant:
        return cls(**orjson.loads(path.read_bytes()))

    def _info(self) -> bytes:
        return f"rehapro-audit-grant|{self.service}|{self.participant_id}|{self.auditor_key_id}".encode()


def _wrapping_key(shared_secret: bytes, grant: Grant) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=grant._info()).derive(shared_secret)


def seal_for(dek: bytes, auditor_key: bytes, *, grant_id: str, service: str, participant_id: str) -> Grant:
    """The data key sealed for the auditor (a fresh ephemeral key per grant)."""
    ephemeral = X25519PrivateKey.generate()
    eph_raw = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, _RAW)
    grant = Grant(grant_id, service, participant_id, fingerprint(auditor_key), _b64(eph_raw), "")
    key = _wrapping_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(auditor_key)), grant)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, dek, grant_id.encode())
    return Grant(**(asdict(grant) | {"sealed_key": _b64(sealed)}))


def open_grant(grant: Grant, identity: AuditorIdentity) -> bytes:
    """The data key; ``ValueError`` if the grant is for another auditor or was altered."""
    if grant.auditor_key_id != identity.fingerprint:
        raise ValueError(f"grant {grant.grant_id} is for auditor key {grant.auditor_key_id}, not this identity")
    ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(grant.ephemeral_public_key))
    key = _wrapping_key(identity.private_key.exchange(ephemeral), grant)
    raw = base64.b64decode(grant.sealed_key)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], grant.grant_id.encode())
    except InvalidTag as exc:  # tampered, or not sealed for this key
        raise ValueError(f"grant {grant.grant_id} does not open with this identity") from exc


class Opener:
    """Opens sealed values of the participants whose grants opened; anything else stays sealed."""

    def __init__(self, keys: dict[str, list[bytes]] | None = None) -> None:
        self.keys = keys or {}  # participant id -> data keys (one per granting service)

    def open(self, subject_id: str, token: object) -> tuple[bool, Any]:
        """``(True, value)`` if one of the subject's granted keys opens the token."""
        if not isinstance(token, str):
            return False, None
        for key in self.keys.get(subject_id, []):
            with contextlib.suppress(InvalidTag, ValueError):  # another service's key, not a token
                return True, open_with(key, token, subject_id)
        return False, None


def opener_for(participant: str, grants: list[Grant], identity: AuditorIdentity | None) -> tuple[Opener, list[str]]:
    """An opener from the grants that are for ``participant`` and open with ``identity``, and a
    note for each grant left unused (for another participant, another auditor, altered)."""
    keys: dict[str, list[bytes]] = {}
    notes = []
    for grant in grants:
        if grant.participant_id != participant:
            notes.append(f"grant {grant.grant_id} is for another participant: not used")
            continue
        if identity is None:
            notes.append(f"grant {grant.grant_id}: no --identity to open it with")
            continue
        try:
            keys.setdefault(participant, []).append(open_grant(grant, identity))
        except ValueError as exc:
            notes.append(f"{exc}: not used")
    return Opener(keys), notes


_LAST = "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"


async def grant(rt: Runtime, participant: UUID, auditor_key: bytes, reason: str, granted_by: str) -> Grant:
    """Record the grant and seal the participant's data key for the auditor, in one transaction
    (the record is committed with the key read, or neither). ``GrantRefused`` after an erasure."""
    connected = await rt.connect()
    service = rt.definition.name
    store = PostgresEventStore(connected.pool)
    grant_id = str(new_id())
    context = CommandContext(
        actor=Actor(id=granted_by, role=Role.DATA_PROTECTION_OFFICER.value), agency="platform", project=None,
        correlation_id=new_id(),
    )  # fmt: skip
    try:
        async with connected.pool.acquire() as conn, conn.transaction():
            try:
                dek = await SubjectKeys(keyprovider.installed()).key_for(conn, str(participant))
            except KeyErased:
                raise GrantRefused(f"{service} holds no data key for {participant} (erased, or none sealed)") from None
            raw = await conn.fetchval(_LAST, grants_stream(service))
            head = Envelope.from_bytes(raw) if raw is not None else None
            event = AuditKeyGranted(
                grant_id=UUID(grant_id), participant_id=participant, granted_service=service,
                auditor_key_id=fingerprint(auditor_key), reason=reason,
            )  # fmt: skip
            await store.append(
                conn, stream_id=grants_stream(service), stream_type=GRANTS_STREAM_TYPE,
                expected_version=head.version if head else 0, events=[event], context=context,
                head_hash=head.hash if head else GENESIS_HASH,
            )  # fmt: skip
        return seal_for(dek, auditor_key, grant_id=grant_id, service=service, participant_id=str(participant))
    finally:
        await connected.pool.close()


def add_grant_command(app: typer.Typer, definition: ServiceDefinition) -> None:
    """``grant-audit-key`` on the command line of a service that holds subject keys."""
    if not definition.subject_keys:
        return

    @app.command("grant-audit-key")
    def grant_audit_key(
        participant: Annotated[UUID, typer.Option(help="the participant whose sealed fields the auditor may open")],
        auditor_key: Annotated[Path, typer.Option(help="the auditor's public key (rehapro-audit identity)")],
        reason: Annotated[str, typer.Option(help="the audit mandate: its reference and purpose (kept in clear)")],
        granted_by: Annotated[str, typer.Option(help="the data protection officer making the grant (staff id)")],
        out: Annotated[Path, typer.Option(help="where to write the grant file for the auditor (must not exist)")],
    ) -> None:
        """Data protection officers: seal one participant's data key here for one auditor, recorded
        as ``AuditKeyGranted`` in this service's history. Refused after an erasure."""
        if not reason.strip():
            raise typer.BadParameter("a grant needs its reason", param_hint="--reason")
        try:
            public = load_auditor_key(auditor_key)
        except (OSError, ValueError, KeyError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--auditor-key") from None
        if out.exists():
            raise typer.BadParameter(f"{out} exists", param_hint="--out")
        from shared.runtime import Runtime  # the runtime starts the audit trail: imported when run

        try:
            made = uvloop.run(grant(Runtime(load_settings(definition.name), definition), participant, public,
                                    reason.strip(), granted_by))  # fmt: skip
        except GrantRefused as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from None
        files.create_private(out, made.to_bytes())
        summary = {"grant_id": made.grant_id, "service": made.service, "participant_id": made.participant_id,
                   "auditor_key_id": made.auditor_key_id, "out": str(out)}  # fmt: skip
        typer.echo(json.dumps(summary))
