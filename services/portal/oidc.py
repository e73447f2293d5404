"""Login through the agency's OpenID provider: the authorization-code flow with PKCE (S256),
``state`` against login CSRF and ``nonce`` against a replayed ID token. The ID token is verified
here (the provider's JWKS from its discovery document, issuer, audience = our client id, expiry,
nonce); the access token becomes the session, and every request checks it as the services do
(``shared.auth.decode_token``: the provider must be in the services' trust file), because the
services verify that same token when the portal forwards it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.portal.settings import PortalSettings
from shared.auth import ALGORITHMS

FLOW_COOKIE = "rp_oidc"  # state, nonce and PKCE verifier of a login in progress
FLOW_TTL_S = 600
DISCOVERY_TTL_S = 3600
LEEWAY_S = 30


class LoginFailed(Exception):
    """The provider refused, or its answer did not verify: the login page says so."""


@dataclass(frozen=True)
class Flow:
    """One login attempt, kept in an HttpOnly cookie until the provider sends the browser back."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def cookie(self) -> str:
        return f"{self.state}.{self.nonce}.{self.verifier}"

    @classmethod
    def of_cookie(cls, value: str | None) -> Flow | None:
        parts = (value or "").split(".")
        return cls(*parts) if len(parts) == 3 and all(parts) else None


@dataclass(frozen=True)
class Tokens:
    """What the code bought: the access token (the session) and the verified ID token."""

    access_token: str
    id_token: str
    expires_in: int


@dataclass
class OidcClient:
    """The portal as a confidential client of the agency's provider (``client_secret_basic``)."""

    settings: PortalSettings
    transport: httpx.AsyncBaseTransport | None = None
    _discovery: dict[str, Any] = field(default_factory=dict)
    _fetched_at: float = 0.0
    _jwks: jwt.PyJWKSet | None = None

    async def _get(self, url: str) -> Any:
        async with httpx.AsyncClient(transport=self.transport, timeout=self.settings.timeout_s) as client:
            r = await client.get(url)
        if r.status_code != 200:
            raise LoginFailed(f"{url}: HTTP {r.status_code}")
        return r.json()

    async def discovery(self) -> dict[str, Any]:
        """The provider's ``/.well-known/openid-configuration``, cached for an hour."""
        if not self._discovery or time.monotonic() - self._fetched_at > DISCOVERY_TTL_S:
            url = self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await self._get(url)
            if doc.get("issuer") != self.settings.oidc_issuer:
                raise LoginFailed("the discovery document names another issuer")
            self._discovery, self._fetched_at, self._jwks = doc, time.monotonic(), None
        return self._discovery

    async def authorize_url(self, flow: Flow) -> str:
        doc = await self.discovery()
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": self.settings.oidc_redirect_uri,
            "scope": "openid profile",
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        }
        return f"{doc['authorization_endpoint']}?{urlencode(query)}"

    async def exchange(self, code: str, flow: Flow) -> Tokens:
        """The code for tokens at the token endpoint (with the PKCE verifier), then the ID token
        verified; refuses anything that does not check out."""
        doc = await self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.oidc_redirect_uri,
            "code_verifier": flow.verifier,
        }
        auth = (self.settings.oidc_client_id, self.settings.oidc_client_secret)
        async with httpx.AsyncClient(transport=self.transport, timeout=self.settings.timeout_s) as client:
            r = await client.post(doc["token_endpoint"], data=form, auth=auth)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200 or "access_token" not in body or "id_token" not in body:
            raise LoginFailed(f"token endpoint: {body.get('error', r.status_code)}")
        await self.verify_id_token(str(body["id_token"]), flow.nonce)
        return Tokens(str(body["access_token"]), str(body["id_token"]), int(body.get("expires_in", 3600)))

    async def verify_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise LoginFailed(f"ID token algorithm {header.get('alg')!r} not accepted")
            key = await self._key(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(header["alg"])],
                audience=self.settings.oidc_client_id,
                issuer=self.settings.oidc_issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise LoginFailed(f"ID token: {exc}") from None
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise LoginFailed("ID token: nonce does not match")
        return claims

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        """The signing key by ``kid``; the JWKS fetched again once on an unknown kid (rotation)."""
        for fresh in (False, True):
            if self._jwks is None or fresh:
                self._jwks = jwt.PyJWKSet.from_dict(await self._get((await self.discovery())["jwks_uri"]))
            for k in self._jwks.keys:
                if kid is None or k.key_id == kid:
                    return k
        raise LoginFailed(f"ID token: unknown kid {kid!r}")

    async def logout_url(self, id_token: str | None, back: str) -> str | None:
        """The provider's end-session endpoint (RP-initiated logout), if it has one."""
        try:
            endpoint = (await self.discovery()).get("end_session_endpoint")
        except (LoginFailed, httpx.HTTPError):
            return None
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": back, "client_id": self.settings.oidc_client_id}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(query)}"
