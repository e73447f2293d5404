"""Tokens from the agencies' own identity providers, on a running intake: each agency's issuer
with its own keys (RS256 from a JWKS file, EdDSA from a JWKS endpoint), audience per service,
expiry and not-before with bounded skew, rotation by kid, and everything else refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from shared.auth import issue_token
from tests import support
from tests.security.conftest import IntakeFactory

KEYCLOAK = "https://login.jc-en.example/realms/rehapro"
ENTRA = "https://login.microsoftonline.com/drv-tenant/v2.0"


class Idp:
    """One identity provider: its signing keys (newest signs) and its published JWKS."""

    def __init__(self, issuer: str, alg: str) -> None:
        self.issuer = issuer
        self.alg = alg
        self.keys: list[tuple[str, Any]] = []
        self.rotate()

    def _new(self) -> Any:
        if self.alg == "RS256":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return ed25519.Ed25519PrivateKey.generate()

    def rotate(self) -> str:
        kid = f"k{len(self.keys) + 1}"
        self.keys.append((kid, self._new()))
        return kid

    def jwks(self) -> bytes:
        algo: Any = RSAAlgorithm if self.alg == "RS256" else OKPAlgorithm
        published = [
            {**algo.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": self.alg, "use": "sig"}
            for kid, key in self.keys
        ]
        return orjson.dumps({"keys": published})

    def token(self, claims: dict[str, Any], kid: str | None = None, **over: Any) -> str:
        kid = kid or self.keys[-1][0]
        key = dict(self.keys)[kid]
        now = int(time.time())
        body = {"iss": self.issuer, "sub": "u-1", "aud": "rehapro-intake", "iat": now, "nbf": now, "exp": now + 300}
        return jwt.encode({**body, **claims, **over}, key, algorithm=self.alg, headers={"kid": kid})


@pytest.fixture
def keycloak() -> Idp:
    return Idp(KEYCLOAK, "RS256")


@pytest.fixture
def entra() -> Iterator[tuple[Idp, str]]:
    """An EdDSA provider whose JWKS is served over HTTP (as a real provider's endpoint)."""
    idp = Idp(ENTRA, "EdDSA")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = idp.jwks()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield idp, f"http://127.0.0.1:{server.server_address[1]}/discovery/v2.0/keys"
    server.shutdown()


def trust_file(tmp_path: Path, keycloak: Idp, entra_uri: str) -> Path:
    (tmp_path / "jc-en.jwks.json").write_bytes(keycloak.jwks())
    trust = {
        "issuers": [
            {
                "issuer": KEYCLOAK,
                "agency": "jc-en",
                "jwks_file": "jc-en.jwks.json",
                "role_claim": "realm_access.roles",
                "role_map": {"fallmanagement": "case-manager"},
            },
            {
                "issuer": ENTRA,
                "agency": "drv-westfalen",
                "jwks_uri": entra_uri,
                "role_claim": "roles",
                "refresh_cooldown_s": 0.5,
            },
        ]
    }
    path = tmp_path / "trust.json"
    path.write_bytes(orjson.dumps(trust))
    return path


async def status(client: httpx.AsyncClient, token: str) -> int:
    r = await client.get("/participants", headers={"Authorization": f"Bearer {token}"})
    return r.status_code


async def test_tokens_from_each_agencys_provider(
    start_intake: IntakeFactory, intake_db: str, tmp_path: Path, keycloak: Idp, entra: tuple[Idp, str]
) -> None:
    drv, uri = entra
    trust = trust_file(tmp_path, keycloak, uri)
    kc_roles = {"realm_access": {"roles": ["offline_access", "fallmanagement"]}}
    async with start_intake(database_url=intake_db, jwt_trust_file=str(trust), jwt_leeway_s=30) as (_, intake):
        assert await status(intake, keycloak.token(kc_roles)) == 200
        assert await status(intake, drv.token({"roles": ["drv-adviser"]})) == 200

        # a provider vouches for its own agency only
        assert await status(intake, keycloak.token({**kc_roles, "agency": "jc-mk"})) == 401
        # audience: a token for casework is not one for intake
        assert await status(intake, keycloak.token(kc_roles, aud="rehapro-casework")) == 401
        assert await status(intake, keycloak.token(kc_roles, aud=["rehapro-casework", "rehapro-intake"])) == 200
        # expiry and not-before, with 30 s of skew and no more
        now = int(time.time())
        assert await status(intake, keycloak.token(kc_roles, exp=now - 10)) == 200
        assert await status(intake, keycloak.token(kc_roles, exp=now - 120)) == 401
        assert await status(intake, keycloak.token(kc_roles, nbf=now + 10)) == 200
        assert await status(intake, keycloak.token(kc_roles, nbf=now + 120)) == 401
        # no role, two roles, an unknown one
        assert await status(intake, keycloak.token({"realm_access": {"roles": ["offline_access"]}})) == 401
        two = {"realm_access": {"roles": ["fallmanagement", "auditor"]}}
        assert await status(intake, keycloak.token(two)) == 401

        # an issuer nobody trusts, a key the issuer never published, the development key
        stranger = Idp("https://evil.example", "RS256")
        assert await status(intake, stranger.token(kc_roles)) == 401
        forged = Idp(KEYCLOAK, "RS256")  # same issuer and kid, another key
        assert await status(intake, forged.token(kc_roles)) == 401
        assert await status(intake, issue_token(subject="x", role="case-manager", agency="jc-en")) == 401
        # the old shared secret, and no signature at all
        hs = jwt.encode({"iss": KEYCLOAK, "sub": "x", "aud": "rehapro-intake", "exp": now + 60, **kc_roles}, "s" * 32)
        assert await status(intake, hs) == 401
        unsigned = jwt.encode(
            {"iss": KEYCLOAK, "sub": "x", "aud": "rehapro-intake", "exp": now + 60},
            None,  # type: ignore[arg-type]  # alg "none" takes no key
            "none",
        )
        assert await status(intake, unsigned) == 401


async def test_providers_rotate_their_keys_by_kid(
    start_intake: IntakeFactory, intake_db: str, tmp_path: Path, keycloak: Idp, entra: tuple[Idp, str]
) -> None:
    drv, uri = entra
    trust = trust_file(tmp_path, keycloak, uri)
    kc_roles = {"realm_access": {"roles": ["fallmanagement"]}}
    async with start_intake(database_url=intake_db, jwt_trust_file=str(trust)) as (_, intake):
        old = keycloak.token(kc_roles)
        assert await status(intake, old) == 200
        assert await status(intake, drv.token({"roles": "drv-adviser"})) == 200

        # the providers publish a new key and sign with it: accepted without a restart
        keycloak.rotate()
        (tmp_path / "jc-en.jwks.json").write_bytes(keycloak.jwks())
        assert await status(intake, keycloak.token(kc_roles)) == 200
        assert await status(intake, old) == 200  # the old key is still published
        drv.rotate()
        rotated = drv.token({"roles": "drv-adviser"})  # unknown kid: JWKS fetched again (after the cooldown)
        await support.eventually(lambda: status(intake, rotated), lambda code: code == 200)

        # the old key withdrawn: tokens signed with it stop working
        keycloak.keys = keycloak.keys[-1:]
        (tmp_path / "jc-en.jwks.json").write_bytes(keycloak.jwks())
        assert await status(intake, old) == 401


async def test_development_tokens_follow_the_local_signing_key(
    start_intake: IntakeFactory, intake_db: str, tmp_path: Path
) -> None:
    """``make up``: the dev CLI's key signs, the services read its JWKS; a rotation keeps tokens
    signed before it valid (both keys are published) and the new kid is picked up at once."""
    from shared.auth import SigningKeys

    keys = SigningKeys(tmp_path / "jwt" / "signing-key.json")
    first = issue_token(subject="cm", role="case-manager", agency="jc-en", keys=keys)
    async with start_intake(database_url=intake_db, jwt_signing_key_file=str(keys.path)) as (_, intake):
        assert await status(intake, first) == 200
        keys.rotate()
        second = issue_token(subject="cm", role="case-manager", agency="jc-en", keys=keys)
        assert jwt.get_unverified_header(second)["kid"] != jwt.get_unverified_header(first)["kid"]
        assert await status(intake, second) == 200
        assert await status(intake, first) == 200
        elsewhere = issue_token(subject="cm", role="case-manager", agency="jc-en", keys=SigningKeys(tmp_path / "k"))
        assert await status(intake, elsewhere) == 401  # another machine's dev key
        casework_only = issue_token(
            subject="cm", role="case-manager", agency="jc-en", keys=keys, audiences=["rehapro-casework"]
        )
        assert await status(intake, casework_only) == 401
