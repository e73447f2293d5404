"""A small OpenID provider for tests: discovery, authorize (consents at once, for one user),
token (authorization code with PKCE, client_secret_basic), JWKS and end-session, signing ES256
tokens like the agencies' Keycloak: the role in ``realm_access.roles``, no agency claim (the
services take the agency from the issuer). Runs in its own thread, so a service that fetches the
JWKS synchronously does not wait on its own event loop."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from jwt.algorithms import ECAlgorithm

from shared.auth import SERVICES, audience


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeProvider:
    """One client (id, secret, redirect uri) and one user (subject and provider role)."""

    client_id: str
    client_secret: str
    redirect_uri: str
    subject: str
    role: str
    port: int = field(default_factory=free_port)
    kid: str = field(default_factory=lambda: secrets.token_hex(4))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    redeemed: list[str] = field(default_factory=list)
    logged_out: list[str] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def trust_entry(self, agency: str, role_map: dict[str, str]) -> dict[str, Any]:
        """This provider as the services' trust file names it."""
        return {
            "issuer": self.issuer,
            "agency": agency,
            "jwks_uri": f"{self.issuer}/jwks",
            "role_claim": "realm_access.roles",
            "role_map": role_map,
            "refresh_cooldown_s": 0,
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        public: dict[str, Any] = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def app(self) -> FastAPI:
        app = FastAPI()
        basic = HTTPBasic(auto_error=False)

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["ES256"],
            }

        @app.get("/authorize")
        async def authorize(request: Request) -> Any:
            q = request.query_params
            if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": q.get("nonce", ""), "challenge": q.get("code_challenge", "")}
            return RedirectResponse(f"{self.redirect_uri}?{urlencode({'code': code, 'state': q.get('state', '')})}")

        @app.post("/token")
        async def token(
            request: Request,
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            code_verifier: str = Form(),
        ) -> JSONResponse:
            creds: HTTPBasicCredentials | None = await basic(request)
            if creds is None or (creds.username, creds.password) != (self.client_id, self.client_secret):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(code, None)  # a code is good once
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or grant_type != "authorization_code" or redirect_uri != self.redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if digest != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            self.redeemed.append(code)
            now = int(time.time())
            common = {"iss": self.issuer, "sub": self.subject, "iat": now, "exp": now + 3600}
            access = self.sign(
                common | {"aud": [audience(s) for s in SERVICES], "realm_access": {"roles": [self.role, "offline"]}}
            )
            ident = self.sign(common | {"aud": self.client_id, "nonce": grant["nonce"], "name": "Anna Fallmanagerin"})
            body = {"access_token": access, "id_token": ident, "token_type": "Bearer", "expires_in": 3600}
            return JSONResponse(body)

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return self.jwks()

        @app.get("/logout")
        async def logout(request: Request) -> RedirectResponse:
            self.logged_out.append(request.query_params.get("id_token_hint", ""))
            return RedirectResponse(request.query_params.get("post_logout_redirect_uri", "/"))

        return app

    def start(self) -> None:
        self._server = uvicorn.Server(uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_config=None))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the fake OpenID provider did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join()
