"""Configuration from the environment (12-factor), one prefix per service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings. Each service reads them with its own prefix, e.g. ``INTAKE_DATABASE_URL``,
    falling back to the unprefixed ``REHAPRO_`` name for what all services share."""

    model_config = SettingsConfigDict(env_prefix="REHAPRO_", extra="ignore")

    service: str = "unnamed"
    database_url: str = "postgresql://postgres@127.0.0.1:25432/postgres"
    kafka_bootstrap: str = "127.0.0.1:29092"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    topic_prefix: str = Field(default="", description="prefix for all topic names (tests isolate runs)")
    group_prefix: str = Field(default="", description="prefix of consumer group ids (defaults to topic_prefix)")
    projection_schema: str = Field(default="proj", description="prefix of the schema of each projection")
    jwt_secret: str = Field(default="dev-only-secret-change-me-0123456789", min_length=16)
    jwt_issuer: str = "rehapro-dev"
    log_level: str = "INFO"
    log_json: bool = True
    relay_enabled: bool = True
    projections_enabled: bool = True
    ready_max_lag: int = 10_000
    consumer_stall_after_s: float = Field(
        default=30.0, gt=0, description="a consumer with lag and no progress for this long is stalled (not ready)"
    )
    ready_max_outbox_age_s: float = Field(
        default=60.0, gt=0, description="not ready while the oldest unpublished event is older than this"
    )
    db_pool_min: int = 2
    db_pool_max: int = 10
    consumer_batch: int = 1000
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="request bodies above this are refused (413) before they are read"
    )
    intake_url: str = Field(default="http://127.0.0.1:8001", description="intake's base URL (identity look-ups)")
    intake_timeout: float = 30.0

    def schema_for(self, projection: str) -> str:
        """Each projection owns a schema, so it can be rebuilt and swapped on its own."""
        return f"{self.projection_schema}_{projection}"

    def topic(self, service: str) -> str:
        return f"{self.topic_prefix}{service}.events"


def load_settings(service: str, **overrides: object) -> ServiceSettings:
    """Settings for one service: ``<SERVICE>_X`` beats ``REHAPRO_X`` beats the default."""

    class _Prefixed(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix=f"{service.upper()}_", extra="ignore")

    base = ServiceSettings()
    prefixed = _Prefixed()
    merged = base.model_dump() | prefixed.model_dump(exclude_unset=True) | overrides
    if "database_url" not in base.model_fields_set | prefixed.model_fields_set | set(overrides):
        # the local stack has one database per service, named after it
        merged["database_url"] = base.database_url.rsplit("/", 1)[0] + f"/{service}"
    merged["service"] = service
    return ServiceSettings.model_validate(merged)
