"""The portal's settings: where the four services are, and how people log in."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import load_settings


class PortalSettings(BaseSettings):
    """``PORTAL_<NAME>`` from the environment. The JWT secret and issuer are the services' own
    (``REHAPRO_JWT_SECRET``): the development login signs tokens the services accept."""

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
    jwt_secret: str = ""
    jwt_issuer: str = ""

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
            "jwt_issuer": settings.jwt_issuer or base.jwt_issuer,
        }
    )
