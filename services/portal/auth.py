"""Who is logged in: the session cookie holds the user's bearer token (HttpOnly, SameSite=strict),
checked on every request with the services' own rules. The development login mints a demo
user's token; production logs in through the agency's OpenID provider (see README)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.responses import Response

from services.portal.settings import PortalSettings
from shared.auth import decode_token, issue_token
from shared.domain import DomainError
from shared.principal import Principal
from shared.vocabulary import AGENCIES, Role

SESSION_COOKIE = "rp_session"
ID_TOKEN_COOKIE = "rp_id_token"  # the OpenID provider's logout wants it back (id_token_hint)
SESSION_TTL_S = 8 * 3600
# Roles a person logs in with (the service role is for machines).
STAFF_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SERVICE)


@dataclass(frozen=True)
class User:
    """The logged-in person and the token every service call carries."""

    principal: Principal
    token: str

    @property
    def role(self) -> Role:
        return self.principal.role


class NotLoggedIn(Exception):
    """No session or an expired one: the browser goes to the login page."""


def demo_subject(role: Role, agency: str) -> str:
    """The demo data's staff ids (``deploy/local/demo.py``), so a demo user finds a caseload."""
    return f"demo-{role.value}-{agency}"


def dev_token(settings: PortalSettings, role: str, agency: str) -> str:
    """A demo user's token, signed like the services expect; refuses what is not a staff role
    or a known agency (the field is named for the form)."""
    if agency not in AGENCIES:
        raise DomainError("unknown agency", field="agency")
    try:
        staff = Role(role)
    except ValueError:
        raise DomainError("unknown role", field="role") from None
    if staff not in STAFF_ROLES:
        raise DomainError("not a staff role", field="role")
    return issue_token(subject=demo_subject(staff, agency), role=staff, agency=agency, ttl=SESSION_TTL_S)


def current_user(request: Request, settings: PortalSettings) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotLoggedIn
    try:
        return User(decode_token(token, settings.verifier()), token)
    except HTTPException as exc:  # expired, tampered or from another issuer: log in again
        raise NotLoggedIn from exc


def start_session(response: Response, settings: PortalSettings, token: str, ttl: int = SESSION_TTL_S) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=min(ttl, SESSION_TTL_S),
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(ID_TOKEN_COOKIE)


def check_token(settings: PortalSettings, token: str) -> Principal:
    """The principal of a provider's access token, as the services would see it; refuses a
    token of a provider the services do not trust (the login would fail on every page)."""
    try:
        return decode_token(token, settings.verifier())
    except HTTPException as exc:
        raise DomainError(str(exc.detail), field="_") from None
