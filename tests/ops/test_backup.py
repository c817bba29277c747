"""``passmint backup`` and ``passmint restore``: an installation with passes, loyalty cards
and coupon codes moves between SQLite and PostgreSQL with its master key, and the restored
one serves the same passes to the same devices."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.db import Database, run_migrations
from passmint.kit.clock import utcnow
from passmint.models import Base
from passmint.ops.backup import (
    ArchiveInvalid,
    DatabaseNotEmpty,
    RevisionMismatch,
    read_archive,
    restore_backup,
    write_backup,
)
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.wallet.apple.devpki import DevPki
from tests.conftest import PassCheck
from tests.fixtures.apns_server import FakeApns
from tests.ops.conftest import command_env
from tests.service.conftest import (
    PUBLIC_URL,
    auth,
    cafe_template,
    put_apple_credentials,
)

BIN = Path(sys.executable).parent
PROGRAM = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 10, "per_amount": 100,
         "currency": "EUR", "rounding": "down"},
    ],
}  # fmt: skip


def settings_for(database_url: str, data_dir: Path, apns: FakeApns) -> Settings:
    """Settings with the master key in a file of ``data_dir`` (made on first start)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=None,
        public_url=PUBLIC_URL,
        apns_url=apns.base_url,
        apns_ca_file=apns.ca_file,
        queue=QueueMode.EMBEDDED,
    )


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = Runtime(settings)
    await runtime.start(worker=False)
    try:
        app = create_app(runtime=runtime, worker=False, migrate=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            yield runtime, http
    finally:
        await runtime.stop()


def passmint(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "passmint"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@dataclass
class Installation:
    """What the source installation handed out, to ask the restored one for."""

    key: str
    account: dict[str, Any]
    codes: list[str]
    pkpass: bytes
    pass_json: dict[str, Any]
    device_url: str
    apple_auth: dict[str, str]
    tag: str
    last_modified: str


async def populate(
    runtime: Runtime, http: httpx.AsyncClient, dev_pki: DevPki, check_pass: PassCheck
) -> Installation:
    """A tenant with Apple credentials, images, a template, a program with three cards and
    their purchases, a coupon batch with a used-up code, and an iPhone registered on a card."""
    async with runtime.transaction() as session:
        tenant = await tenants.create_tenant(session, "Café Lumen", runtime.clock())
        key = (
            await tenants.create_api_key(session, tenant.id, name="pos", now=runtime.clock())
        ).secret
    headers = auth(key)
    await put_apple_credentials(http, key, dev_pki)
    template_id = await cafe_template(http, key)
    program = await http.post(
        "/api/v1/programs",
        headers=headers,
        json={"name": "Points", "template_id": template_id, "config": PROGRAM},
    )
    assert program.status_code == 201, program.text
    accounts = []
    for number in range(3):
        created = await http.post(
            f"/api/v1/programs/{program.json()['id']}/accounts",
            headers=headers,
            json={"customer": {"email": f"guest{number}@example.com", "name": f"Guest {number}"}},
        )
        assert created.status_code == 201, created.text
        accounts.append(created.json())
        purchase = await http.post(
            "/api/v1/activities",
            headers=headers,
            json={"account_id": created.json()["id"], "kind": "purchase", "amount": 1250 + number,
                  "currency": "EUR", "external_id": f"till-1/{number}"},
        )  # fmt: skip
        assert purchase.status_code == 201, purchase.text
    campaign = await http.post(
        "/api/v1/campaigns",
        headers=headers,
        json={"name": "Spring", "kind": "discount", "percent_off_bp": 1000},
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    batch = await http.post(
        f"/api/v1/campaigns/{campaign_id}/batches",
        headers=headers,
        json={"count": 50, "pattern": "SPR-####-####", "max_uses": 2},
    )
    assert batch.status_code == 201, batch.text
    listed = await http.get(f"/api/v1/campaigns/{campaign_id}/codes?limit=2", headers=headers)
    codes = [item["code"] for item in listed.json()["items"]]
    for attempt in range(2):  # the first code is used up
        redeemed = await http.post(
            "/api/v1/redemptions",
            headers={**headers, "Idempotency-Key": f"order-{attempt}"},
            json={"code": codes[0], "order": {"amount": 5000, "currency": "EUR"}},
        )
        assert redeemed.status_code == 201, redeemed.text
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()

    account = (await http.get(f"/api/v1/accounts/{accounts[0]['id']}", headers=headers)).json()
    issued = (await http.get(f"/api/v1/passes/{account['pass_id']}", headers=headers)).json()
    download = await http.get(issued["urls"]["pkpass"])
    assert download.status_code == 200, download.text
    report = check_pass(download.content)
    assert report.pass_json is not None
    pj = report.pass_json
    service = pj["webServiceURL"].rstrip("/")
    apple_auth = {"Authorization": f"ApplePass {pj['authenticationToken']}"}
    device = f"{service}/v1/devices/backup-phone/registrations/{pj['passTypeIdentifier']}"
    registered = await http.post(
        f"{device}/{pj['serialNumber']}", headers=apple_auth, json={"pushToken": "ab" * 32}
    )
    assert registered.status_code == 201, registered.text
    tag = (await http.get(device)).json()["lastUpdated"]
    latest = await http.get(
        f"{service}/v1/passes/{pj['passTypeIdentifier']}/{pj['serialNumber']}", headers=apple_auth
    )
    assert latest.status_code == 200
    return Installation(
        key=key,
        account=account,
        codes=codes,
        pkpass=download.content,
        pass_json=pj,
        device_url=device,
        apple_auth=apple_auth,
        tag=tag,
        last_modified=latest.headers["Last-Modified"],
    )


async def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as the models read them, in primary-key order."""
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return {
                table.name: [
                    tuple(row)
                    for row in await conn.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        await db.dispose()


def pass_json(pkpass: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        loaded: dict[str, Any] = json.loads(archive.read("pass.json"))
        return loaded


@pytest.mark.anyio
@pytest.mark.postgres
@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
async def test_a_restored_backup_serves_the_same_passes_to_the_same_devices(
    source: str,
    target: str,
    tmp_path: Path,
    fresh_postgres: str,
    apns: FakeApns,
    dev_pki: DevPki,
    check_pass: PassCheck,
) -> None:
    urls = {"sqlite": f"sqlite:///{tmp_path / 'passmint.db'}", "postgresql": fresh_postgres}
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    async with served(settings_for(urls[source], old_dir, apns)) as (runtime, http):
        made = await populate(runtime, http, dev_pki, check_pass)

    archive = tmp_path / "passmint-backup.tar.gz"
    backed_up = passmint(tmp_path, command_env(old_dir, urls[source]), "backup", str(archive))
    assert backed_up.returncode == 0, backed_up.stderr
    assert "holds the master key" in backed_up.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:  # images are rows of the assets table
        assert {"manifest.json", "secret.key"} <= set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    rows = {entry["name"]: entry["rows"] for entry in manifest["tables"]}
    assert rows["assets"] >= 2
    assert (rows["passes"], rows["codes"]) == (3, 50)
    assert manifest["database"] == source

    restored = passmint(tmp_path, command_env(new_dir, urls[target]), "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    key_file = new_dir / "secret.key"
    assert key_file.read_bytes() == (old_dir / "secret.key").read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Every value came through the other database unchanged.
    assert await table_rows(urls[target]) == await table_rows(urls[source])
    again = passmint(tmp_path, command_env(new_dir, urls[target]), "restore", str(archive))
    assert again.returncode == 1
    assert "restore_database_not_empty" in again.stderr

    async with served(settings_for(urls[target], new_dir, apns)) as (_, http):
        pj = made.pass_json
        # The phone's poll: nothing changed since its tag, and its pass is not modified.
        polled = await http.get(made.device_url, params={"passesUpdatedSince": made.tag})
        assert polled.status_code == 204, polled.text
        service = pj["webServiceURL"].rstrip("/")
        unchanged = await http.get(
            f"{service}/v1/passes/{pj['passTypeIdentifier']}/{pj['serialNumber']}",
            headers={**made.apple_auth, "If-Modified-Since": made.last_modified},
        )
        assert unchanged.status_code == 304
        # The same download link gives the same pass, signed and valid.
        headers = auth(made.key)
        issued = await http.get(f"/api/v1/passes/{made.account['pass_id']}", headers=headers)
        download = await http.get(issued.json()["urls"]["pkpass"])
        assert download.status_code == 200
        check_pass(download.content)
        assert pass_json(download.content) == pass_json(made.pkpass)
        # The value engine goes on where it stopped: balances, replays and used-up codes.
        account = await http.get(f"/api/v1/accounts/{made.account['id']}", headers=headers)
        assert account.json()["balance"] == made.account["balance"] == 125
        replay = await http.post(
            "/api/v1/activities",
            headers=headers,
            json={"account_id": made.account["id"], "kind": "purchase", "amount": 1250,
                  "currency": "EUR", "external_id": "till-1/0"},
        )  # fmt: skip
        assert replay.json()["replayed"] is True, replay.text
        used_up = await http.post(
            "/api/v1/redemptions",
            headers={**headers, "Idempotency-Key": "order-after-restore"},
            json={"code": made.codes[0], "order": {"amount": 5000, "currency": "EUR"}},
        )
        assert used_up.json()["error"]["code"] == "usage_limit_reached", used_up.text
        fresh = await http.post(
            "/api/v1/redemptions",
            headers={**headers, "Idempotency-Key": "order-after-restore-2"},
            json={"code": made.codes[1], "order": {"amount": 5000, "currency": "EUR"}},
        )
        assert fresh.status_code == 201, fresh.text


async def _installation(tmp_path: Path, apns: FakeApns) -> tuple[Settings, Path]:
    """A small SQLite installation (a tenant and its key) and its archive."""
    settings = settings_for(f"sqlite:///{tmp_path / 'small.db'}", tmp_path / "small", apns)
    runtime = Runtime(settings)
    await runtime.start(worker=False)
    try:
        async with runtime.transaction() as session:
            tenant = await tenants.create_tenant(session, "Small", runtime.clock())
            await tenants.create_api_key(session, tenant.id, name="pos", now=runtime.clock())
        archive = tmp_path / "small.tar.gz"
        await write_backup(runtime.db, archive, master_key=b"k" * 32, key_file=None, now=utcnow())
    finally:
        await runtime.stop()
    return settings, archive


@pytest.mark.anyio
async def test_restore_refuses_a_database_with_data_unless_forced(
    tmp_path: Path, apns: FakeApns
) -> None:
    settings, archive = await _installation(tmp_path, apns)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    await asyncio.to_thread(run_migrations, target)
    db = Database(target)
    try:
        first = await restore_backup(db, read_archive(archive), force=False)
        assert first.rows == 2
        with pytest.raises(DatabaseNotEmpty, match="tenants, api_keys"):
            await restore_backup(db, read_archive(archive), force=False)
        forced = await restore_backup(db, read_archive(archive), force=True)
        assert forced.rows == 2
    finally:
        await db.dispose()
    assert await table_rows(target) == await table_rows(settings.resolved_database_url())


@pytest.mark.anyio
async def test_restore_refuses_another_schema_revision_and_damaged_archives(
    tmp_path: Path, apns: FakeApns
) -> None:
    _, archive = await _installation(tmp_path, apns)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    await asyncio.to_thread(run_migrations, target)
    older = read_archive(archive)
    older.manifest["revision"] = "0006"
    db = Database(target)
    try:
        with pytest.raises(RevisionMismatch, match="revision 0006"):
            await restore_backup(db, older, force=False)
        with pytest.raises(ArchiveInvalid):
            read_archive(tmp_path / "small" / "secret.key")  # not an archive
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        with pytest.raises(ArchiveInvalid):
            await restore_backup(db, read_archive(cut), force=False)
        # Nothing of a refused restore is left behind.
        assert all(not rows for rows in (await table_rows(target)).values())
    finally:
        await db.dispose()


@pytest.mark.anyio
async def test_restore_refuses_a_master_key_that_is_not_the_archives(
    tmp_path: Path, apns: FakeApns
) -> None:
    """Secrets encrypted under one key do not decrypt under another: a restore that would
    run with another key is refused before it touches the database."""
    _, archive = await _installation(tmp_path, apns)
    target = tmp_path / "target.db"
    other_key = command_env(tmp_path / "target", f"sqlite:///{target}", secret_key="o" * 43)
    refused = await asyncio.to_thread(passmint, tmp_path, other_key, "restore", str(archive))
    assert refused.returncode == 1
    assert "backup_master_key_mismatch" in refused.stderr
    assert not target.exists()


@pytest.mark.anyio
@pytest.mark.postgres
async def test_restore_moves_postgresql_sequences_past_the_restored_rows(
    tmp_path: Path, apns: FakeApns, fresh_postgres: str
) -> None:
    _, archive = await _installation(tmp_path, apns)
    await asyncio.to_thread(run_migrations, fresh_postgres)
    db = Database(fresh_postgres)
    try:
        async with db.engine.begin() as conn:  # rows numbered by hand, as a load does
            await conn.execute(text("CREATE TABLE numbered (id serial PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO numbered (id) VALUES (1), (2), (3)"))
        summary = await restore_backup(db, read_archive(archive), force=False)
        assert summary.sequences == 1
        async with db.engine.begin() as conn:
            next_id = await conn.scalar(text("INSERT INTO numbered DEFAULT VALUES RETURNING id"))
        assert next_id == 4
    finally:
        await db.dispose()
