"""Settings, read from ``PASSMINT_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
