"""Bearer-token authentication (JWT: subject, role, agency) and role/agency checks at the HTTP edge."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status

from shared.principal import Principal as Principal
from shared.vocabulary import AGENCIES, Role


def issue_token(
    secret: str, *, subject: str, role: Role | str, agency: str, issuer: str = "rehapro-dev", ttl: int = 3600 * 12
) -> str:
    """Signs a development/test token. Production tokens come from the agency's identity provider."""
    now = int(time.time())
    claims = {"sub": subject, "role": str(role), "agency": agency, "iss": issuer, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(token: str, secret: str, issuer: str) -> Principal:
    """The caller, or 401: a subject, a known role and a known agency are all required, none empty."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=issuer, options={"require": ["sub", "exp", "iss"]}
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: empty subject") from None
    try:
        role = Role(claims.get("role", ""))
    except ValueError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: unknown role") from None
    agency = claims.get("agency", "")
    if agency not in AGENCIES:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: unknown agency")
    return Principal(subject=subject, role=role, agency=agency)


def principal_of(header: str, settings: Any) -> Principal:
    """The caller named by an ``Authorization`` header, or 401."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return decode_token(token, settings.jwt_secret, settings.jwt_issuer)


async def authenticate(request: Request) -> Principal:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread, a hop per request.
    A request with a body was authenticated by ``shared.web.BodyGuard`` before it was read."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = principal_of(request.headers.get("authorization", ""), request.app.state.settings)
        request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
