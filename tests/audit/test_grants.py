"""Key grants for auditors: a participant's data key sealed for one auditor's X25519 key opens that
person's sealed fields in ``case`` and nothing else; another auditor, another participant or an
altered grant opens nothing (the fields stay sealed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.audit.case import SEALED, plain
from shared.audit.grants import AuditorIdentity, Grant, open_grant, opener_for, seal_for
from shared.crypto import seal_with

PERSON = "01a23197-d439-7701-834e-ac7f8d5340c4"
OTHER = "01a23197-d439-7701-834e-ac7f8d5340c5"
IDENTITY = {"first_name": "Anna", "last_name": "Beispiel"}


def granted(identity: AuditorIdentity, dek: bytes, participant: str = PERSON) -> Grant:
    return seal_for(dek, identity.public_raw, grant_id="g-1", service="intake", participant_id=participant)


def test_a_grant_opens_the_participants_sealed_fields_for_its_auditor_only(tmp_path: Path) -> None:
    auditor = AuditorIdentity.create(tmp_path / "auditor.key")
    assert AuditorIdentity.load(tmp_path / "auditor.key").fingerprint == auditor.fingerprint
    dek = AESGCM.generate_key(bit_length=256)
    grant = granted(auditor, dek)
    (tmp_path / "grant.json").write_bytes(grant.to_bytes())
    assert open_grant(Grant.load(tmp_path / "grant.json"), auditor) == dek

    payload = {"sealed_identity": seal_with(dek, IDENTITY, PERSON), "sex": "female"}
    opener, notes = opener_for(PERSON, [grant], auditor)
    assert notes == []
    assert plain(payload, opener, PERSON) == {"sealed_identity": IDENTITY, "sex": "female"}
    assert plain(payload) == {"sealed_identity": SEALED, "sex": "female"}  # no grant


def test_another_auditor_another_participant_or_an_altered_grant_opens_nothing(tmp_path: Path) -> None:
    auditor = AuditorIdentity.create(tmp_path / "auditor.key")
    stranger = AuditorIdentity.create(tmp_path / "stranger.key")
    dek = AESGCM.generate_key(bit_length=256)
    with pytest.raises(ValueError, match="is for auditor key"):
        open_grant(granted(auditor, dek), stranger)
    altered = dataclasses.replace(granted(auditor, dek), participant_id=OTHER)  # the wrapping key differs
    with pytest.raises(ValueError, match="does not open"):
        open_grant(altered, auditor)

    token = seal_with(dek, IDENTITY, OTHER)
    opener, notes = opener_for(OTHER, [granted(auditor, dek)], auditor)  # the grant names PERSON
    assert notes == ["grant g-1 is for another participant: not used"]
    assert plain({"sealed_identity": token}, opener, OTHER) == {"sealed_identity": SEALED}
    opener, notes = opener_for(PERSON, [granted(stranger, dek)], auditor)
    (note,) = notes
    assert "is for auditor key" in note
    assert plain({"sealed_identity": seal_with(dek, IDENTITY, PERSON)}, opener, PERSON) == {"sealed_identity": SEALED}


def test_a_key_of_one_person_does_not_open_another_persons_token(tmp_path: Path) -> None:
    """The subject id is bound into every token: even the right key under the wrong person fails."""
    auditor = AuditorIdentity.create(tmp_path / "auditor.key")
    dek = AESGCM.generate_key(bit_length=256)
    opener, _ = opener_for(PERSON, [granted(auditor, dek)], auditor)
    assert opener.open(PERSON, seal_with(dek, IDENTITY, OTHER)) == (False, None)
    assert opener.open(PERSON, "not a token") == (False, None)
