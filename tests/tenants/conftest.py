"""Fixtures for staff accounts: the service fixtures of tests/service, a cheap password
hasher, a tenant with its owner, contexts at chosen times, and a real SMTP server
(aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.runtime import Runtime
from passmint.tenants import members
from passmint.tenants import service as tenants
from passmint.tenants.accounts import Passwords, StaffContext
from passmint.web.deps import staff_context
from tests.service.conftest import (  # noqa: F401 - fixtures
    anyio_backend,
    apns,
    auth,
    client,
    database_url,
    postgres_url,
    runtime,
    settings,
    sqlite_template,
    tenant,
)

__all__ = ["auth"]

CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
"""Argon2id with tiny parameters: the tests log in hundreds of times."""
PASSWORD = "correct horse battery"


def ctx_for(
    rt: Runtime, session: AsyncSession, now: datetime | None = None, **changes: Any
) -> StaffContext:
    """The context the web app builds, with the cheap hasher (and ``now``, if given)."""
    ctx = replace(staff_context(rt, session), **{"passwords": CHEAP, **changes})
    return replace(ctx, now=now) if now is not None else ctx


@dataclass
class Team:
    """A tenant, its owner, and an API key of it."""

    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    owner_email: str
    api_key: str


async def make_team(rt: Runtime, name: str, email: str) -> Team:
    async with rt.transaction() as session:
        now = rt.clock()
        made = await tenants.create_tenant(session, name, now)
        key = await tenants.create_api_key(session, made.id, name=f"{name} key", now=now)
        member, _ = await members.add_member(
            ctx_for(rt, session), made.id, email=email, role="owner", password=PASSWORD
        )
    return Team(made.id, member.user_id, member.email, key.secret)


async def add_user(rt: Runtime, team: Team, email: str, role: str) -> uuid.UUID:
    async with rt.transaction() as session:
        member, _ = await members.add_member(
            ctx_for(rt, session), team.tenant_id, email=email, role=role, password=PASSWORD
        )
    return member.user_id


@pytest.fixture
async def team(runtime: Runtime) -> Team:  # noqa: F811 - the fixture
    return await make_team(runtime, "Café Lumen", "Owner@Lumen.example")


@pytest.fixture
async def other_team(runtime: Runtime) -> Team:  # noqa: F811 - the fixture
    return await make_team(runtime, "Boulangerie Nord", "owner@nord.example")


class Mailbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        found = [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]
        return [m for m in found if isinstance(m, EmailMessage)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (aiosmtpd, in its own thread)."""
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


async def drain(rt: Runtime) -> None:
    """Run the jobs committed so far (emails)."""
    assert rt.worker is not None
    await rt.worker.run_until_idle()
