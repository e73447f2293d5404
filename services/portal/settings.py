"""The portal's settings: where the four services are, and how people log in."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import audience
from shared.settings import ServiceSettings, load_settings


class PortalSettings(BaseSettings):
    """``PORTAL_<NAME>`` from the environment. Tokens are checked with the services' own rules
    (``shared.auth``): the development login signs with the local development key, which the
    services trust in development."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8005
    intake_url: str = "http://127.0.0.1:8001"
    casework_url: str = "http://127.0.0.1:8002"
    placement_url: str = "http://127.0.0.1:8003"
    reporting_url: str = "http://127.0.0.1:8004"
    timeout_s: float = Field(default=10.0, gt=0)
    dev_login: bool = Field(default=True, description="offer the development login (demo users); off in production")
    cookie_secure: bool = Field(default=False, description="session cookie only over HTTPS (on behind TLS)")
    oidc_issuer: str = Field(default="", description="the agency's OpenID provider (authorization-code flow)")
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_redirect_uri: str = Field(default="", description="e.g. https://portal.example/login/oidc/callback")
    jwt_secret: str = Field(default="", description="unused since tokens are asymmetric (kept for old callers)")
    verify_as: str = Field(default="intake", description="the session token is checked as this service would")

    def verifier(self) -> ServiceSettings:
        """The services' token rules (trusted issuers, signing key), with one service's audience."""
        return load_settings("portal").model_copy(update={"jwt_audience": audience(self.verify_as)})

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url,
            "casework": self.casework_url,
            "placement": self.placement_url,
            "reporting": self.reporting_url,
        }


def load_portal_settings(**overrides: object) -> PortalSettings:
    """Portal settings with the JWT secret and issuer the services use, unless set here."""
    base = load_settings("portal")
    settings = PortalSettings(**overrides)  # type: ignore[arg-type]
    return settings.model_copy(
        update={
            "jwt_secret": settings.jwt_secret or base.jwt_secret,
        }
    )
