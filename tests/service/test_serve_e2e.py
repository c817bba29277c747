"""The whole cycle against a real ``passmint serve`` process (embedded mode), on SQLite and
PostgreSQL, with the APNs protocol peer on 127.0.0.1 — as an iPhone would do it."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from passmint.wallet.apple.devpki import DevPki
from tests.conftest import PassCheck
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.images import png

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(
    database_url: str, apns: FakeApns, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PASSMINT_DATABASE_URL": database_url,
        "PASSMINT_DATA_DIR": str(tmp_path / "data"),
        "PASSMINT_PUBLIC_URL": base,
        "PASSMINT_SECRET_KEY": "s" * 43,
        "PASSMINT_APNS_URL": apns.base_url,
        "PASSMINT_APNS_CA_FILE": apns.ca_file,
        "PASSMINT_QUEUE": "embedded",
    }
    env.pop("PASSMINT_REDIS_URL", None)
    created = subprocess.run(
        [str(BIN / "passmint"), "tenants", "create", "Café Lumen", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tenant = json.loads(created.stdout)
    process = subprocess.Popen(
        [str(BIN / "passmint"), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts processes slowly
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "passmint serve did not start"
            time.sleep(0.2)
        yield base, tenant
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_iphone_cycle_against_passmint_serve(
    server: tuple[str, dict[str, str]], apns: FakeApns, dev_pki: DevPki, check_pass: PassCheck
) -> None:
    base, tenant = server
    api_headers = {"Authorization": f"Bearer {tenant['api_key']}"}
    with (
        httpx.Client(base_url=base, headers=api_headers, timeout=30) as api,
        httpx.Client(timeout=30, headers={"User-Agent": "PassBook/1.0 CFNetwork/1568"}) as phone,
    ):
        issued = issue(api, dev_pki)
        cycle(api, phone, issued, base, apns, check_pass)


def issue(api: httpx.Client, dev_pki: DevPki) -> dict[str, Any]:
    files = dev_pki.files()
    assert (
        api.put(
            "/api/v1/credentials/apple",
            json={
                "certificate": files["pass-cert.pem"].decode(),
                "private_key": files["pass-key.pem"].decode(),
                "wwdr": files["wwdr.pem"].decode(),
            },
        ).status_code
        == 200
    )
    icon = api.post(
        "/api/v1/images", content=png(87, 87), headers={"Content-Type": "image/png"}
    ).json()["id"]
    design = {
        "organization_name": "Café Lumen",
        "description": "Loyalty card",
        "images": {"icon": icon},
        "fields": {
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "change_message": "Your balance is now %@ points",
                }
            ]
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}"},
    }
    template = api.post(
        "/api/v1/templates", json={"name": "Loyalty", "style": "storeCard", "design": design}
    )
    assert template.status_code == 201, template.text
    issued = api.post(
        "/api/v1/passes", json={"template_id": template.json()["id"], "data": {"points": 10}}
    )
    assert issued.status_code == 201, issued.text
    body: dict[str, Any] = issued.json()
    return body


def cycle(
    api: httpx.Client,
    phone: httpx.Client,
    issued: dict[str, Any],
    base: str,
    apns: FakeApns,
    check_pass: PassCheck,
    push_timeout: float = 30,
) -> None:

    # 1. download
    download = phone.get(issued["urls"]["pkpass"])
    assert download.status_code == 200
    report = check_pass(download.content)
    assert report.pass_json is not None
    pj = report.pass_json
    assert pj["webServiceURL"] == f"{base}/apple/"
    auth = {"Authorization": f"ApplePass {pj['authenticationToken']}"}
    service = pj["webServiceURL"].rstrip("/")
    device = f"{service}/v1/devices/e2e-device-1/registrations/{pj['passTypeIdentifier']}"
    # 2. register
    token = "0123456789abcdef" * 4
    assert (
        phone.post(
            f"{device}/{pj['serialNumber']}", headers=auth, json={"pushToken": token}
        ).status_code
        == 201
    )
    tag = phone.get(device).json()["lastUpdated"]
    # 3. the business patches the data
    assert (
        api.patch(f"/api/v1/passes/{issued['id']}", json={"data": {"points": 75}}).status_code
        == 200
    )
    # 4. APNs receives the push for that token
    push = apns.wait_for(1, timeout=push_timeout)[0]
    assert push.token == token
    assert push.headers["apns-topic"] == pj["passTypeIdentifier"]
    assert push.body == b"{}"
    # 5. serials updated since the tag
    updated = phone.get(device, params={"passesUpdatedSince": tag})
    assert updated.status_code == 200
    assert updated.json()["serialNumbers"] == [pj["serialNumber"]]
    # 6. the new pass, with the changed field and its change message
    latest = phone.get(
        f"{service}/v1/passes/{pj['passTypeIdentifier']}/{pj['serialNumber']}", headers=auth
    )
    assert latest.status_code == 200
    check_pass(latest.content)
    with zipfile.ZipFile(io.BytesIO(latest.content)) as archive:
        field = json.loads(archive.read("pass.json"))["storeCard"]["primaryFields"][0]
    assert field["value"] == 75
    assert field["changeMessage"] == "Your balance is now %@ points"
    # 7. unregister, then 204
    assert phone.delete(f"{device}/{pj['serialNumber']}", headers=auth).status_code == 200
    assert phone.get(device).status_code == 204
