"""The service fixtures of tests/service (a migrated database per backend, a runtime, an API
client, a tenant) for the loyalty engine's tests that need a database."""

from __future__ import annotations

from tests.service.conftest import (  # noqa: F401 - fixtures
    anyio_backend,
    apns,
    client,
    database_url,
    postgres_url,
    runtime,
    settings,
    sqlite_template,
    tenant,
)
