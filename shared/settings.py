"""Configuration from the environment (12-factor), one prefix per service."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class ServiceSettings(BaseSettings):
    """Common settings. Each service reads them with its own prefix, e.g. ``INTAKE_DATABASE_URL``,
    falling back to the unprefixed ``REHAPRO_`` name for what all services share."""

    model_config = SettingsConfigDict(env_prefix="REHAPRO_", extra="ignore")

    service: str = "unnamed"
    database_url: str = "postgresql://postgres@127.0.0.1:25432/postgres"
    kafka_bootstrap: str = "127.0.0.1:29092"
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = Field(default="", description="CA bundle of the brokers' certificates (TLS protocols)")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    topic_prefix: str = Field(default="", description="prefix for all topic names (tests isolate runs)")
    group_prefix: str = Field(default="", description="prefix of consumer group ids (defaults to topic_prefix)")
    topic_intake: str = Field(default="", description="topic read for intake's events (e.g. a mirrored one)")
    topic_casework: str = Field(default="", description="topic read for casework's events")
    topic_placement: str = Field(default="", description="topic read for placement's events")
    topic_reporting: str = Field(default="", description="topic read for reporting's events")
    migrate_on_start: bool = Field(
        default=True, description="apply migrations on start; false: wait for the `migrate` command (a Kubernetes Job)"
    )
    projection_schema: str = Field(default="proj", description="prefix of the schema of each projection")
    jwt_secret: str = Field(
        default="dev-only-secret-change-me-0123456789",
        min_length=16,
        description="unused since tokens are asymmetric (kept for callers of issue_token(secret, ...))",
    )
    jwt_trust_file: str = Field(
        default="", description="JSON of trusted issuers (one per agency, JWKS file or URL); empty: development"
    )
    jwt_audience: str = Field(default="", description="audience this service accepts; empty: rehapro-<service>")
    jwt_leeway_s: float = Field(default=30.0, ge=0, le=300, description="clock skew allowed on exp/nbf/iat")
    jwt_signing_key_file: str = Field(
        default="", description="this service's own signing key (private JWKS); empty: .local/jwt/signing-key.json"
    )
    kek_provider: str = Field(default="file", description="where the key-encryption key lives: file, env, pkcs11")
    kek_file: str = Field(default=".local/kek.json", description="KEK document for kek_provider=file (0600)")
    kek_env: str = Field(default="REHAPRO_KEK", description="variable holding the KEK document for kek_provider=env")
    name_index_key: str = Field(
        default="dev-only-name-index-change-me",
        min_length=16,
        description="key of the doctors' name digests (shared.consent.name_marks): the same in every service",
    )
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token: str = Field(default="rehapro", description="label of the PKCS#11 token holding the KEKs")
    pkcs11_pin: str = ""
    pkcs11_key: str = Field(default="rehapro-kek-1", description="label of the current KEK on the token")
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
    append_group_max_wait_us: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="group commit: how long an append may wait for others while a group is in flight (0: off)",
    )
    append_group_max_size: int = Field(default=64, ge=1, le=1000, description="group commit: appends per statement")
    append_group_min_concurrency: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="group commit: an append goes alone while fewer than this many (itself counted) are in progress",
    )
    consumer_batch: int = 1000
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="request bodies above this are refused (413) before they are read"
    )
    intake_url: str = Field(default="http://127.0.0.1:8001", description="intake's base URL (identity look-ups)")
    intake_timeout: float = 30.0
    staff_directory: Literal["required", "off"] = Field(
        default="required",
        description="required: a token's subject must be current staff of its agency and team members known staff"
        " of a project partner (shared.staff); off: development and tests without a directory",
    )
    information_meeting_optional: list[str] = Field(
        default_factory=list,
        description="projects whose enrolment does not need an information meeting first (JSON list); default:"
        " every project needs one",
    )

    def schema_for(self, projection: str) -> str:
        """Each projection owns a schema, so it can be rebuilt and swapped on its own."""
        return f"{self.projection_schema}_{projection}"

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError("kafka_sasl_username and kafka_sasl_password are required with a SASL protocol")
        return self

    def topic(self, service: str) -> str:
        """A service's own topic (where its relay publishes)."""
        return f"{self.topic_prefix}{service}.events"

    def audit_topic(self, service: str) -> str:
        """A service's audit topic: its published read records (``shared.audit.reads``), kept off
        the event topic so consumers that need no reads never fetch them."""
        return f"{self.topic_prefix}{service}.audit"

    def source_topic(self, source: str) -> str:
        """The topic this service reads for ``source``'s events: ``TOPIC_<SOURCE>`` when set (an
        agency consuming topics mirrored by MirrorMaker 2, e.g. ``en.intake.events``), else the
        source's own topic. A service always reads its own events from its own topic."""
        override = getattr(self, f"topic_{source}", "") if source != self.service else ""
        return override or self.topic(source)


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
