"""Settings, read from ``PASSMINT_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration. Only transport and composition code reads it."""

    model_config = SettingsConfigDict(env_prefix="PASSMINT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Files, keys and the SQLite db.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite in the data directory."
    )
    redis_url: str | None = Field(default=None, description="Redis for the production queue.")
    public_url: str = Field(default="http://localhost:8000", description="Base URL of passmint.")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'passmint.db').resolve()}"


@cache
def get_settings() -> Settings:
    return Settings()
