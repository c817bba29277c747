"""Settings, read from ``PASSMINT_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("127.0.0.0/8"),
    IPv6Network("::1/128"),
)


class QueueMode(StrEnum):
    EMBEDDED = "embedded"  # in-process worker over the database outbox
    REDIS = "redis"  # arq workers fed through Redis


class Settings(BaseSettings):
    """Process-wide configuration. Only transport and composition code reads it."""

    model_config = SettingsConfigDict(env_prefix="PASSMINT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Files, keys and the SQLite db.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite in the data directory."
    )
    redis_url: str | None = Field(default=None, description="Redis for the production queue.")
    queue_name: str = Field(
        default="passmint:jobs", description="Redis queue; deployments sharing a Redis differ."
    )
    queue: QueueMode | None = Field(
        default=None, description="embedded or redis; default: redis when redis_url is set."
    )
    public_url: str = Field(
        default="http://localhost:8000", description="Base URL devices and customers reach."
    )
    secret_key: str | None = Field(
        default=None,
        description="Master key for secrets at rest; unset: a key file in the data directory.",
    )
    apns_url: str = Field(default="https://api.push.apple.com", description="APNs base URL.")
    apns_ca_file: str | None = Field(default=None, description="CA bundle to trust for APNs.")
    apns_concurrency: int = Field(default=500, ge=1, le=5000)
    push_batch_size: int = Field(default=1000, ge=1, le=10000)
    log_requests_per_minute: int = Field(default=60, ge=1)
    google_api_url: str = Field(
        default="https://walletobjects.googleapis.com/walletobjects/v1",
        description="Google Wallet REST base URL.",
    )
    google_root_keys_url: str = Field(
        default="https://pay.google.com/gp/m/issuer/keys",
        description="Google's callback root signing keys.",
    )
    google_sender_id: str = Field(
        default="GooglePayPasses", description="The sender id callbacks are signed for."
    )
    google_origins: list[str] = Field(
        default_factory=list,
        description="Sites allowed to show the Save to Google Wallet button (JSON list).",
    )
    google_concurrency: int = Field(default=16, ge=1, le=200)
    shutdown_grace: int = Field(
        default=25,
        ge=0,
        le=3600,
        description="Seconds a stopping process gives in-flight requests, then running jobs.",
    )
    # Request bodies, by route class (see passmint.web.limits); a larger body is a 413.
    max_body_api: int = Field(default=1024 * 1024, ge=1024, description="JSON API bodies.")
    max_body_images: int = Field(default=10 * 1024 * 1024, ge=1024, description="PNG uploads.")
    max_body_imports: int = Field(default=32 * 1024 * 1024, ge=1024, description="CSV imports.")
    max_body_devices: int = Field(
        default=8 * 1024, ge=1024, description="Apple device registrations and logs."
    )
    max_body_callbacks: int = Field(default=64 * 1024, ge=1024, description="Google callbacks.")
    max_json_depth: int = Field(default=32, ge=4, le=256, description="JSON body nesting.")
    max_devices_per_pass: int = Field(default=20, ge=1, description="Devices on one pass.")
    max_passes_per_device: int = Field(default=1000, ge=1, description="Passes on one device.")
    # Quotas: rows a tenant may store (passmint.tenants.quotas); a tenant's own limit, set
    # with `passmint tenants quota`, overrides these. Beyond one: a 403 quota_exceeded.
    quota_codes: int = Field(default=1_000_000, ge=0, description="Coupon codes per tenant.")
    quota_passes: int = Field(default=1_000_000, ge=0, description="Passes per tenant.")
    quota_templates: int = Field(default=1_000, ge=0, description="Templates per tenant.")
    quota_images: int = Field(default=10_000, ge=0, description="Uploaded images per tenant.")
    # Rate limits (passmint.web.ratelimit): counted in Redis when redis_url is set.
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        description='Named rate limits to change, as JSON: {"auth_failures": "10/minute"}.',
    )
    rate_limits_enabled: bool = Field(default=True, description="false turns every one off.")

    # Staff accounts (passmint.tenants): admin sessions and the email they get.
    session_idle_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="An admin session ends after this idle."
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=30 * 24, description="An admin session ends this long after login."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for invitations and resets; unset: no email."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if it needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str | None = Field(
        default=None, description="From address; unset: passmint@ the public URL's host."
    )
    smtp_starttls: bool | None = Field(
        default=None, description="Upgrade with STARTTLS: true, false, or unset (if offered)."
    )
    smtp_tls: bool = Field(default=False, description="Implicit TLS from the start (port 465).")
    smtp_timeout: float = Field(default=15.0, gt=0, le=300, description="SMTP timeout (s).")

    # Operating it (README "Operating it"): logs, metrics.
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info", description="Lowest level logged."
    )
    log_format: Literal["json", "console"] | None = Field(
        default=None, description="json or console; unset: console on a terminal, else json."
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token that may read /metrics from any address."
    )
    metrics_allow: list[IPv4Network | IPv6Network] = Field(
        default_factory=lambda: [*LOOPBACK],
        description="Client networks that may read /metrics without the token (JSON list).",
    )

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            try:
                parse_many(text)
            except ValueError:
                raise ValueError(
                    f"rate limit {name!r}: {text!r} is not like '30/minute' or '5/second;100/hour'"
                ) from None
        return value

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Settings:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("PASSMINT_SMTP_TLS and PASSMINT_SMTP_STARTTLS exclude each other")
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'passmint.db').resolve()}"

    def queue_mode(self) -> QueueMode:
        if self.queue is not None:
            return self.queue
        return QueueMode.REDIS if self.redis_url else QueueMode.EMBEDDED

    def image_url(self, asset_id: str) -> str:
        """Where Google (and browsers) fetch a template image."""
        return f"{self.public_url.rstrip('/')}/i/{asset_id}.png"

    def web_service_url(self) -> str:
        return self.public_url.rstrip("/") + "/apple/"


@cache
def get_settings() -> Settings:
    return Settings()
