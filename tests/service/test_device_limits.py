"""PassKit registrations are bounded: push token length, devices per pass, passes per
device, with the status codes Apple's web service allows (issue 13, item 6)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.app import create_app
from passmint.config import Settings
from passmint.models import Device, Registration
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import PUBLIC_URL, auth
from tests.service.test_pass_cycle import apple_path, setup_pass, unzip

pytestmark = pytest.mark.anyio
TOKEN = "ab" * 32  # an APNs device token: 32 bytes in hex


class Phone:
    """A pass as a phone holds it: registers devices with its ApplePass token."""

    def __init__(self, client: httpx.AsyncClient, pass_json: dict[str, Any]) -> None:
        self.client = client
        self.pass_json = pass_json

    @classmethod
    async def download(cls, client: httpx.AsyncClient, issued: dict[str, Any]) -> Phone:
        url = issued["urls"]["pkpass"].removeprefix(PUBLIC_URL)
        data = (await client.get(url)).content
        return cls(client, json.loads(unzip(data)["pass.json"]))

    def url(self, device: str) -> str:
        pj = self.pass_json
        return apple_path(
            f"devices/{device}/registrations/{pj['passTypeIdentifier']}/{pj['serialNumber']}"
        )

    async def register(self, device: str, token: str = TOKEN) -> httpx.Response:
        return await self.client.post(
            self.url(device),
            headers={"Authorization": f"ApplePass {self.pass_json['authenticationToken']}"},
            json={"pushToken": token},
        )

    async def unregister(self, device: str) -> httpx.Response:
        return await self.client.delete(
            self.url(device),
            headers={"Authorization": f"ApplePass {self.pass_json['authenticationToken']}"},
        )


async def issue_more(
    client: httpx.AsyncClient, tenant: dict[str, str], first: dict[str, Any], count: int
) -> list[Phone]:
    phones = []
    for n in range(count):
        issued = await client.post(
            "/api/v1/passes",
            headers=auth(tenant["api_key"]),
            json={"template_id": first["template_id"], "data": {"points": n, "tier": "Gold"}},
        )
        assert issued.status_code == 201, issued.text
        phones.append(await Phone.download(client, issued.json()))
    return phones


async def new_tenant(runtime: Runtime, name: str) -> dict[str, str]:
    async with runtime.transaction() as session:
        now = runtime.clock()
        created = await tenants.create_tenant(session, name, now)
        key = await tenants.create_api_key(session, created.id, name="test", now=now)
    return {"tenant_id": str(created.id), "api_key": key.secret}


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.sessions() as session:
        devices = await session.scalar(select(func.count()).select_from(Device))
        registrations = await session.scalar(select(func.count()).select_from(Registration))
    return int(devices or 0), int(registrations or 0)


def refused(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.fixture
async def capped(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A service that allows 3 devices per pass and 2 passes per device."""
    runtime = Runtime(
        settings.model_copy(update={"max_devices_per_pass": 3, "max_passes_per_device": 2})
    )
    await runtime.start(worker=False, migrate=False)
    app = create_app(runtime=runtime, worker=False, migrate=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
        ) as http:
            yield runtime, http
    finally:
        await runtime.stop()


async def test_push_tokens_are_capped_at_200_characters(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """The issue's reproduction: a 20 MB pushToken was stored. The body limit refuses it
    as it arrives; a token longer than an APNs token can be is refused by the rule."""
    phone = await Phone.download(client, await setup_pass(client, tenant, dev_pki))
    huge = await phone.register("d-huge", "a" * (20 * 1024 * 1024))
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "body_too_large"
    error = refused(await phone.register("d-long", "a" * 201), "push_token_too_long")
    assert error["details"] == {"max_length": 200}
    assert await counts(runtime) == (0, 0)
    assert (await phone.register("d-max", "a" * 200)).status_code == 201
    assert (await phone.register("d-apns", TOKEN)).status_code == 201
    # A device renewing its registration with a bad token changes nothing either.
    refused(await phone.register("d-apns", "b" * 201), "push_token_too_long")
    async with runtime.db.sessions() as session:
        stored = await session.scalar(
            select(Device.push_token).where(Device.device_library_id == "d-apns")
        )
    assert stored == TOKEN


async def test_a_pass_registers_20_devices_by_default(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """The issue's reproduction: 2,000 devices registered on one pass."""
    phone = await Phone.download(client, await setup_pass(client, tenant, dev_pki))
    for n in range(20):
        assert (await phone.register(f"device-{n}")).status_code == 201
    error = refused(await phone.register("device-20"), "too_many_devices")
    assert error["details"] == {"limit": 20}
    assert await counts(runtime) == (20, 20)
    # A registered device renews as Apple says: 200, however full the pass is.
    assert (await phone.register("device-7", "cd" * 32)).status_code == 200


async def test_devices_per_pass_and_passes_per_device_are_settings(
    capped: tuple[Runtime, httpx.AsyncClient], dev_pki: DevPki
) -> None:
    runtime, client = capped
    tenant = await new_tenant(runtime, "Capped")
    first = await setup_pass(client, tenant, dev_pki)
    phone = await Phone.download(client, first)
    for device in ("a", "b", "c"):
        assert (await phone.register(device)).status_code == 201
    assert refused(await phone.register("d"), "too_many_devices")["details"] == {"limit": 3}
    assert (await phone.unregister("c")).status_code == 200
    assert (await phone.register("d")).status_code == 201  # a freed place is taken again
    second, third = await issue_more(client, tenant, first, 2)
    assert (await second.register("a")).status_code == 201
    error = refused(await third.register("a"), "too_many_passes")
    assert error["details"] == {"limit": 2}
    assert (await third.register("e")).status_code == 201
    assert await counts(runtime) == (4, 5)  # a, b, d, e; a twice, b, d, e


async def test_concurrent_registrations_never_pass_the_cap(
    capped: tuple[Runtime, httpx.AsyncClient], dev_pki: DevPki, database_url: str
) -> None:
    """The pass row lock orders registrations of one pass, so no two of them count the
    same free place (PostgreSQL: SQLite runs write transactions one at a time anyway)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent write transactions: PostgreSQL (SQLite runs them in turn)")
    runtime, client = capped
    tenant = await new_tenant(runtime, "Race")
    phone = await Phone.download(client, await setup_pass(client, tenant, dev_pki))
    answers = await asyncio.gather(*(phone.register(f"race-{n}") for n in range(12)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [400] * 9
    assert await counts(runtime) == (3, 3)
