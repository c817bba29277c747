"""Fixtures for the admin app's server-side tests: the app on a real database (SQLite and
PostgreSQL), two businesses with their owners (tests/tenants), and a browser-like client
that logs in through the login form and sends each page's CSRF token with its writes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from passmint.app import create_app
from passmint.runtime import Runtime
from tests.service.conftest import (  # noqa: F401 - fixtures
    PUBLIC_URL,
    anyio_backend,
    apns,
    database_url,
    postgres_url,
    runtime,
    settings,
    sqlite_template,
)
from tests.tenants.conftest import (  # noqa: F401 - fixtures
    PASSWORD,
    Team,
    add_user,
    make_team,
    other_team,
    team,
)

__all__ = ["PASSWORD", "AdminClient", "Team", "add_user", "make_team"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class AdminClient:
    """A browser: keeps cookies, reads the CSRF token from the last page it loaded."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    def _remember(self, response: httpx.Response) -> httpx.Response:
        if match := _CSRF.search(response.text):
            self.csrf = match.group(1)
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._remember(await self.http.get(path, **kwargs))

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self._remember(await self.http.post(path, data=form, **kwargs))

    async def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/admin/login")
        response = await self.post("/admin/login", {"email": email, "password": password})
        if response.status_code == 303:
            await self.get("/admin/designs")  # any page of the app carries the session's token
        return response


@pytest.fixture
async def app_http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    app = create_app(runtime=runtime, worker=False, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture
def browser_client(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(app_http)


@pytest.fixture
async def owner(browser_client: AdminClient, team: Team) -> AdminClient:  # noqa: F811
    """The first business's owner, logged in."""
    response = await browser_client.log_in(team.owner_email)
    assert response.status_code == 303, response.text
    return browser_client
