"""Fixtures for the pass service: a migrated database per backend, a runtime, an API client,
a fake APNs server, and a tenant with credentials."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.db import run_migrations
from passmint.models import Base
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.google_server import FakeGoogleWallet
from tests.fixtures.images import png

PUBLIC_URL = "https://passes.example.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pg_execute(url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE DATABASE needs that)."""

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def _worker_id(config: pytest.Config) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    run_migrations(f"sqlite:///{path}")
    return path


def _run_id() -> str:
    """One id per test run, shared by its xdist workers, so that test runs sharing one
    PostgreSQL server (two checkouts, CI beside a developer) never touch each other's
    databases."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:12] or f"p{os.getpid()}"


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    base = os.environ.get("PASSMINT_TEST_POSTGRES_URL")
    if not base:
        if getattr(request.config, "require_services", False):
            pytest.fail("PASSMINT_TEST_POSTGRES_URL is not set but services are required")
        pytest.skip("PASSMINT_TEST_POSTGRES_URL is not set")
    name = f"passmint_test_{_run_id()}_{_worker_id(request.config)}"
    pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    run_migrations(url)
    yield url
    pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "passmint.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


# One simple query, with triggers off for the session (the append-only tables refuse DELETE;
# foreign keys need no order): on the few rows a test leaves, DELETE takes milliseconds where
# TRUNCATE (a new file per table and index) took half a second per test.
_DELETES = [f'DELETE FROM "{t.name}";' for t in Base.metadata.sorted_tables]  # noqa: S608
_DELETE_ALL = "SET session_replication_role = replica;" + "".join(_DELETES)
_TRUNCATE_ALL = "TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


def empty_postgres(url: str) -> None:
    """Remove every row of the schema's tables, as the test before left them. Turning
    triggers off needs a superuser (as in CI); any other role truncates."""
    try:
        pg_execute(url, _DELETE_ALL)
    except asyncpg.InsufficientPrivilegeError:
        pg_execute(url, _TRUNCATE_ALL + " CASCADE")


@pytest.fixture
def apns(dev_pki: DevPki, tmp_path: Path) -> Iterator[FakeApns]:
    ca = tmp_path / "client-ca.pem"
    ca.write_bytes(dev_pki.files()["ca.pem"] + dev_pki.files()["wwdr.pem"])
    server = FakeApns(auth="certificate", client_ca_file=str(ca))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_settings(database_url: str, tmp_path: Path, apns: FakeApns, **extra: Any) -> Settings:
    """The service settings of a test: its database, a data directory, the APNs peer."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url=PUBLIC_URL,
        secret_key="k" * 43,
        apns_url=apns.base_url,
        apns_ca_file=apns.ca_file,
        queue=QueueMode.EMBEDDED,
        **extra,
    )


def google_settings(
    database_url: str, tmp_path: Path, apns: FakeApns, peer: FakeGoogleWallet, **extra: Any
) -> Settings:
    """:func:`make_settings` with Google Wallet's REST API and root keys at ``peer``."""
    return make_settings(
        database_url,
        tmp_path,
        apns,
        google_api_url=peer.base_url,
        google_root_keys_url=peer.root_keys_url,
        **extra,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, apns: FakeApns) -> Settings:
    return make_settings(database_url, tmp_path, apns)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    await rt.start(worker=False, migrate=False)
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime, worker=False, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture
async def tenant(runtime: Runtime) -> dict[str, str]:
    async with runtime.transaction() as session:
        now = runtime.clock()
        created = await tenants.create_tenant(session, "Café Lumen", now)
        key = await tenants.create_api_key(session, created.id, name="test", now=now)
    return {"tenant_id": str(created.id), "api_key": key.secret}


def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def put_apple_credentials(
    http: httpx.AsyncClient, api_key: str, pki: DevPki
) -> dict[str, Any]:
    files = pki.files()
    response = await http.put(
        "/api/v1/credentials/apple",
        headers=auth(api_key),
        json={
            "certificate": files["pass-cert.pem"].decode(),
            "private_key": files["pass-key.pem"].decode(),
            "wwdr": files["wwdr.pem"].decode(),
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload(http: httpx.AsyncClient, api_key: str, width: int, height: int) -> str:
    response = await http.post(
        "/api/v1/images",
        headers={**auth(api_key), "Content-Type": "image/png"},
        content=png(width, height),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def cafe_template(http: httpx.AsyncClient, api_key: str, name: str = "Card") -> str:
    """A store-card template of the café design: its id."""
    template = await http.post(
        "/api/v1/templates",
        headers=auth(api_key),
        json={"name": name, "style": "storeCard", "design": await cafe_design(http, api_key)},
    )
    assert template.status_code == 201, template.text
    return str(template.json()["id"])


async def create_program(
    http: httpx.AsyncClient,
    api_key: str,
    dev_pki: DevPki,
    config: dict[str, Any],
    name: str = "Café points",
) -> dict[str, Any]:
    """A points program on a store card of the café design, with Apple credentials."""
    await put_apple_credentials(http, api_key, dev_pki)
    template_id = await cafe_template(http, api_key)
    response = await http.post(
        "/api/v1/programs",
        headers=auth(api_key),
        json={"name": name, "template_id": template_id, "config": config},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_card(
    http: httpx.AsyncClient, api_key: str, program_id: str, **body: Any
) -> httpx.Response:
    """``POST /api/v1/programs/{id}/accounts``: open a card, as it answered."""
    return await http.post(
        f"/api/v1/programs/{program_id}/accounts", headers=auth(api_key), json=body
    )


async def open_card(
    http: httpx.AsyncClient, api_key: str, program_id: str, **body: Any
) -> dict[str, Any]:
    """A card opened in the program (201), as the API describes it."""
    response = await post_card(http, api_key, program_id, **body)
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def cafe_design(http: httpx.AsyncClient, api_key: str) -> dict[str, Any]:
    icon = await upload(http, api_key, 87, 87)
    logo = await upload(http, api_key, 480, 150)
    return {
        "organization_name": "Café Lumen",
        "description": "Café Lumen loyalty card",
        "logo_text": "Café Lumen",
        "colors": {"background": "#3c2314", "foreground": "#fff4e6", "label": "#e6be96"},
        "images": {"icon": icon, "logo": logo},
        "fields": {
            "header": [
                {
                    "key": "tier",
                    "label": "TIER",
                    "value": "{{ tier }}",
                    "change_message": "You are now %@",
                }
            ],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "change_message": "Your balance is now %@ points",
                }
            ],
            "secondary": [{"key": "member", "label": "MEMBER", "value": "{{ name }}"}],
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}"},
        "localizations": {
            "fr": {"POINTS": "POINTS", "TIER": "NIVEAU"},
            "ar": {"POINTS": "النقاط", "TIER": "المستوى"},
        },
    }


def openssl_available() -> bool:
    return (
        shutil.which("openssl") is not None
        and subprocess.run(["openssl", "version"], capture_output=True, check=False).returncode == 0
    )
