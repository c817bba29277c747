"""What every loyalty use case shares: who moved value (an :class:`Actor`), a program's
configuration, finding the tenant's programs and cards, and a ledger entry as JSON.

The loyalty modules are services: they flush and never commit; jobs go through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from passmint.loyalty import repository
from passmint.loyalty.errors import AccountNotFound, ProgramNotFound
from passmint.loyalty.schemas import ProgramConfig
from passmint.models import Account, LedgerEntry, Program
from passmint.passes.service import PassContext


@dataclass(frozen=True)
class Actor:
    """Who moved value: an API key, a staff user, a rule or the system (expiry)."""

    type: str
    id: str | None = None


SYSTEM = Actor("system")


def config_of(program: Program) -> ProgramConfig:
    return ProgramConfig.model_validate(program.config)


async def list_programs(ctx: PassContext) -> list[Program]:
    return await repository.list_programs(ctx.session, ctx.tenant_id)


async def get_program(ctx: PassContext, program_id: uuid.UUID, *, lock: bool = False) -> Program:
    program = await repository.get_program(ctx.session, ctx.tenant_id, program_id, lock=lock)
    if program is None:
        raise ProgramNotFound(f"no program {program_id}")
    return program


async def get_account(ctx: PassContext, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    account = await repository.get_account(ctx.session, ctx.tenant_id, account_id, lock=lock)
    if account is None:
        raise AccountNotFound(f"no account {account_id}")
    return account


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "amount": entry.amount,
        "status": entry.status,
        "rule": entry.rule,
        "available_at": entry.available_at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "remaining": entry.remaining,
        "reverses_id": str(entry.reverses_id) if entry.reverses_id else None,
        "activity_id": str(entry.activity_id) if entry.activity_id else None,
        "reward_id": str(entry.reward_id) if entry.reward_id else None,
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "note": entry.note,
        "created_at": entry.created_at.isoformat(),
    }
