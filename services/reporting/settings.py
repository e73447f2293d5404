"""Settings only reporting has (environment prefix ``REPORTING_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    intake_url: str = Field(default="http://127.0.0.1:8001", description="intake's base URL (monitoring identities)")
    intake_timeout: float = 30.0
