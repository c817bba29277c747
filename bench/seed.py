"""Bulk seeding for the service benchmarks: a tenant with a dev-PKI credential, one template,
N passes and R registrations, written with PostgreSQL COPY (minutes of API calls otherwise).

Pass i has serial ``S{i:09d}`` and authentication token ``T{i:09d}`` padded to 24
characters; device j is ``D{j:09d}`` and registers passes ``j`` and ``j + N/2``.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import secrets
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import serialization

from passmint.db import run_migrations
from passmint.kit.crypto import SecretBox, TokenHasher, parse_master_key
from passmint.kit.ids import uuid7
from passmint.wallet.apple.devpki import generate_dev_pki

SECRET_KEY = "bench-secret-key-bench-secret-key-bench-00"  # noqa: S105 - a bench-only key
PASS_TYPE = "pass.dev.passmint.demo"  # noqa: S105 - an identifier
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def serial(i: int) -> str:
    return f"S{i:09d}"


def token(i: int) -> str:
    return f"T{i:09d}".ljust(24, "x")


def device(j: int) -> str:
    return f"D{j:09d}"


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    template_id: uuid.UUID
    passes: int
    registrations: int
    max_tag: int


def pg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def unique_name(name: str) -> str:
    """``<name>_<pid>_<hex>``: a database name of this run's own, so two runs on one server
    never drop each other's databases."""
    return f"{name}_{os.getpid()}_{secrets.token_hex(3)}"


async def drop(admin_url: str, url: str) -> None:
    conn = await asyncpg.connect(pg_url(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def _drop_at_exit(admin_url: str, url: str) -> None:
    try:
        asyncio.run(drop(admin_url, url))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"could not drop {url.rsplit('/', 1)[1]}: {exc}", file=sys.stderr)


async def recreate(admin_url: str, name: str) -> str:
    """A new, migrated database named ``<name>_<pid>_<hex>``; it is dropped when the
    process exits (normally or by an exception; a killed run leaves it behind)."""
    name = unique_name(name)
    conn = await asyncpg.connect(pg_url(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    atexit.register(_drop_at_exit, admin_url, url)
    await asyncio.to_thread(run_migrations, url)
    return url


async def seed_base(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """Tenant, API key-less credential and a minimal template (icon only)."""
    box = SecretBox(parse_master_key(SECRET_KEY))
    pki = generate_dev_pki(now=NOW - timedelta(days=1))
    tenant, template = uuid7(), uuid7()
    key_pem = pki.pass_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    from io import BytesIO

    from PIL import Image

    icon = BytesIO()
    Image.new("RGBA", (87, 87), (200, 120, 40, 255)).save(icon, "PNG")
    from passmint.wallet.apple.images import render_image_set
    from passmint.wallet.apple.styles import PassStyle

    files = render_image_set("icon", icon.getvalue(), PassStyle.STORE_CARD)
    import hashlib

    design = {
        "organization_name": "Bench Café",
        "description": "Bench card",
        "images": {"icon": "00000000-0000-0000-0000-000000000000"},
        "fields": {
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "change_message": "Balance: %@",
                }
            ]
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}"},
    }
    conn = await asyncpg.connect(pg_url(url))
    try:
        await conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)", tenant, "Bench", NOW
        )
        await conn.execute(
            "INSERT INTO apple_credentials (id, tenant_id, pass_type_id, team_id, certificate_pem,"
            " private_key_enc, wwdr_pem, not_after, apns_auth, updated_at) VALUES"
            " ($1,$2,$3,$4,$5,$6,$7,$8,'certificate',$9)",
            uuid7(),
            tenant,
            PASS_TYPE,
            "PASSMINT01",
            pki.pass_cert.public_bytes(serialization.Encoding.PEM),
            box.encrypt(key_pem, purpose=f"apple:key:{tenant}"),
            pki.wwdr.public_bytes(serialization.Encoding.PEM),
            pki.pass_cert.not_valid_after_utc,
            NOW,
        )
        names: dict[str, str] = {}
        for name, data in files.items():
            sha = hashlib.sha256(data).hexdigest()
            names[name] = sha
            await conn.execute(
                "INSERT INTO assets (id, tenant_id, sha256, content_type, data, created_at)"
                " VALUES ($1,$2,$3,'image/png',$4,$5)",
                uuid7(),
                tenant,
                sha,
                data,
                NOW,
            )
        await conn.execute(
            "INSERT INTO templates (id, tenant_id, name, style, version, created_at, updated_at)"
            " VALUES ($1,$2,'Bench','storeCard',1,$3,$3)",
            template,
            tenant,
            NOW,
        )
        await conn.execute(
            "INSERT INTO template_versions (id, template_id, version, design, files, created_at)"
            " VALUES ($1,$2,1,$3,$4,$5)",
            uuid7(),
            template,
            json.dumps(design),
            json.dumps(names),
            NOW,
        )
    finally:
        await conn.close()
    return tenant, template


async def seed_passes(
    url: str,
    tenant: uuid.UUID,
    template: uuid.UUID,
    start: int,
    stop: int,
    registrations_per_pass: int,
) -> tuple[list[uuid.UUID], int]:
    """Passes [start, stop) and their devices. Returns the pass ids and the highest tag."""
    box = SecretBox(parse_master_key(SECRET_KEY))
    hasher = TokenHasher(parse_master_key(SECRET_KEY))
    ids: list[uuid.UUID] = []
    pass_rows: list[tuple[Any, ...]] = []
    for i in range(start, stop):
        pid = uuid7()
        ids.append(pid)
        pass_rows.append(
            (
                pid,
                tenant,
                template,
                1,
                PASS_TYPE,
                serial(i),
                None,
                hasher.hash(token(i)),
                box.encrypt(token(i).encode(), purpose=f"pass-token:{pid}"),
                f"dl{i:09d}".ljust(32, "d"),
                json.dumps({"points": i % 5000}),
                "installed",
                1,
                f"h{i}",
                i + 1,
                NOW,
                NOW,
                None,
            )
        )
    device_rows: list[tuple[Any, ...]] = []
    registration_rows: list[tuple[Any, ...]] = []
    for offset, pid in enumerate(ids):
        i = start + offset
        for r in range(registrations_per_pass):
            did = uuid7()
            device_rows.append(
                (did, device(i * registrations_per_pass + r), f"{i:032x}{r:032x}", NOW, NOW)
            )
            registration_rows.append((uuid7(), did, pid, PASS_TYPE, NOW))
    conn = await asyncpg.connect(pg_url(url))
    try:
        await conn.copy_records_to_table(
            "passes",
            records=pass_rows,
            columns=[
                "id",
                "tenant_id",
                "template_id",
                "template_version",
                "pass_type_id",
                "serial_number",
                "external_id",
                "auth_token_hash",
                "auth_token_enc",
                "download_token",
                "data",
                "status",
                "version",
                "content_hash",
                "update_tag",
                "last_modified",
                "created_at",
                "voided_at",
            ],
        )
        await conn.copy_records_to_table(
            "devices",
            records=device_rows,
            columns=["id", "device_library_id", "push_token", "created_at", "updated_at"],
        )
        await conn.copy_records_to_table(
            "registrations",
            records=registration_rows,
            columns=["id", "device_id", "pass_id", "pass_type_id", "created_at"],
        )
        await conn.execute(
            "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE"
            " SET value = GREATEST(counters.value, excluded.value)",
            f"apple:{PASS_TYPE}",
            stop,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return ids, stop
