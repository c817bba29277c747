"""A tenant's members: listing, roles, removal, never without an owner, never across
tenants."""

from __future__ import annotations

import pytest

from passmint.runtime import Runtime
from passmint.tenants import members
from passmint.tenants.errors import Forbidden, InvalidRole, LastOwner, NotFound
from passmint.tenants.roles import Role, describe, scopes_of
from passmint.tenants.scopes import Scope
from tests.tenants.conftest import Team, add_user, ctx_for
from tests.tenants.test_invitations import principal_of

pytestmark = pytest.mark.anyio


def test_roles_map_onto_the_scopes() -> None:
    assert scopes_of(Role.OWNER) == frozenset(Scope)
    assert scopes_of(Role.ADMIN) == frozenset(Scope) - {Scope.USERS_WRITE}
    marketer = scopes_of(Role.MARKETER)
    assert {Scope.TEMPLATES_WRITE, Scope.PASSES_WRITE, Scope.LOYALTY_WRITE,
            Scope.COUPONS_WRITE, Scope.CREDENTIALS_READ} <= marketer  # fmt: skip
    assert not {Scope.CREDENTIALS_WRITE, Scope.API_KEYS_WRITE, Scope.USERS_WRITE} & marketer
    analyst = scopes_of(Role.ANALYST)
    assert Scope.EVENTS_READ in analyst
    assert not [s for s in analyst if s.value.endswith(":write")]
    assert scopes_of(Role.CASHIER) == {
        Scope.REDEMPTIONS_WRITE, Scope.VALIDATIONS_WRITE, Scope.LOYALTY_READ,
        Scope.ACTIVITIES_WRITE,
    }  # fmt: skip
    viewer = scopes_of(Role.VIEWER)
    assert viewer
    assert all(s.value.endswith(":read") for s in viewer)
    assert Scope.AUDIT_READ not in viewer | analyst
    for role in Role:
        assert describe(role).endswith(".")


async def test_members_management(runtime: Runtime, team: Team, other_team: Team) -> None:
    owner = await principal_of(runtime, team.owner_email)
    mia = await add_user(runtime, team, "mia@lumen.example", "marketer")
    stranger = await principal_of(runtime, other_team.owner_email)
    marketer = await principal_of(runtime, "mia@lumen.example")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        listed = await members.list_members(ctx, owner)
        assert [(m.email, m.role) for m in listed] == [
            ("mia@lumen.example", Role.MARKETER),
            ("owner@lumen.example", Role.OWNER),
        ]
        with pytest.raises(NotFound):  # tenant B's owner cannot touch A's member
            await members.change_role(ctx, stranger, mia, "owner")
        with pytest.raises(NotFound):
            await members.remove_member(ctx, stranger, mia)
        assert mia not in {m.user_id for m in await members.list_members(ctx, stranger)}
        with pytest.raises(Forbidden):
            await members.list_members(ctx, marketer)
        with pytest.raises(Forbidden):
            await members.change_role(ctx, marketer, mia, "owner")
        with pytest.raises(LastOwner):
            await members.change_role(ctx, owner, team.owner_id, "admin")
        with pytest.raises(LastOwner):
            await members.remove_member(ctx, owner, team.owner_id)
        promoted = await members.change_role(ctx, owner, mia, Role.OWNER)
        assert promoted.role is Role.OWNER
        demoted = await members.change_role(ctx, owner, team.owner_id, "viewer")
        assert demoted.role is Role.VIEWER
        with pytest.raises(InvalidRole):
            await members.change_role(ctx, owner, mia, "emperor")
