"""Verified tokens are remembered (one signature check per token, not per request) without
accepting anything the full check would refuse: past its expiry, or once its key is withdrawn."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import HTTPException

from shared import auth
from shared.auth import SigningKeys, decode_token, issue_token
from shared.settings import ServiceSettings, load_settings
from shared.vocabulary import Role


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    return SigningKeys(tmp_path / "jwt" / "signing-key.json")


def _settings(keys: SigningKeys, tmp_path: Path) -> ServiceSettings:
    # a trust of its own per test (the trust cache is keyed by the settings)
    return load_settings("intake", jwt_signing_key_file=str(keys.path), jwt_audience=f"rehapro-intake-{tmp_path.name}")


def _token(keys: SigningKeys, tmp_path: Path, ttl: int = 3600) -> str:
    aud = [f"rehapro-intake-{tmp_path.name}"]
    return issue_token(subject="cm", role=Role.CASE_MANAGER, agency="jc-en", keys=keys, ttl=ttl, audiences=aud)


def _count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    verify = auth._verify

    def counted(*args: Any) -> Any:
        calls.append(1)
        return verify(*args)

    monkeypatch.setattr(auth, "_verify", counted)
    return calls


def test_a_token_is_verified_once_then_remembered(
    keys: SigningKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(keys, tmp_path)
    token = _token(keys, tmp_path)
    calls = _count_verifications(monkeypatch)
    first = decode_token(token, settings)
    again = decode_token(token, settings)
    assert first == again
    assert first.subject == "cm"
    assert len(calls) == 1


def test_past_its_expiry_a_token_is_checked_in_full_again(
    keys: SigningKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full check refuses an expired token (tests/security/test_tokens.py); the memory must
    never answer for one instead."""
    settings = _settings(keys, tmp_path)
    token = _token(keys, tmp_path, ttl=60)
    calls = _count_verifications(monkeypatch)
    assert decode_token(token, settings).subject == "cm"
    assert decode_token(token, settings).subject == "cm"
    assert len(calls) == 1
    later = time.time() + 61  # past exp (the signature library keeps its own clock)
    monkeypatch.setattr(time, "time", lambda: later)
    decode_token(token, settings)
    assert len(calls) == 2


def test_a_remembered_token_ends_with_its_withdrawn_key(keys: SigningKeys, tmp_path: Path) -> None:
    settings = _settings(keys, tmp_path)
    old = _token(keys, tmp_path)
    assert decode_token(old, settings).subject == "cm"
    keys.rotate(keep=2)
    assert decode_token(old, settings).subject == "cm"  # still published beside the new key
    published = orjson.loads(keys.jwks_path.read_bytes())["keys"]
    keys.jwks_path.write_bytes(orjson.dumps({"keys": published[-1:]}))  # the old key withdrawn
    with pytest.raises(HTTPException) as refused:
        decode_token(old, settings)
    assert refused.value.status_code == 401
    assert decode_token(_token(keys, tmp_path), settings).subject == "cm"  # the new key's tokens pass
