"""Staff roles: what a member of a tenant may do, as the API scopes each role holds.

A user's requests go through the same scope checks as an API key's: a role is a named set
of scopes (:func:`scopes_of`). The owner holds every scope, managing users included; an
admin all but managing users; a marketer designs and issues; an analyst reads; a cashier
redeems and posts activities at the counter; a viewer reads the catalogue.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from passmint.tenants.errors import InvalidRole
from passmint.tenants.scopes import Scope


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    CASHIER = "cashier"
    VIEWER = "viewer"


_CATALOGUE_READS: Final = frozenset(
    {Scope.TEMPLATES_READ, Scope.PASSES_READ, Scope.LOYALTY_READ, Scope.COUPONS_READ}
)

_SCOPES: Final[dict[Role, frozenset[Scope]]] = {
    Role.OWNER: frozenset(Scope),
    Role.ADMIN: frozenset(Scope) - {Scope.USERS_WRITE},
    Role.MARKETER: _CATALOGUE_READS
    | {
        Scope.TEMPLATES_WRITE,
        Scope.PASSES_WRITE,
        Scope.LOYALTY_WRITE,
        Scope.ACTIVITIES_WRITE,
        Scope.COUPONS_WRITE,
        Scope.VALIDATIONS_WRITE,
        Scope.CREDENTIALS_READ,
        Scope.EVENTS_READ,
    },
    Role.ANALYST: _CATALOGUE_READS | {Scope.CREDENTIALS_READ, Scope.EVENTS_READ},
    Role.CASHIER: frozenset(
        {
            Scope.LOYALTY_READ,
            Scope.ACTIVITIES_WRITE,
            Scope.REDEMPTIONS_WRITE,
            Scope.VALIDATIONS_WRITE,
        }
    ),
    Role.VIEWER: _CATALOGUE_READS,
}

_DESCRIPTIONS: Final[dict[Role, str]] = {
    Role.OWNER: "Everything, including inviting and removing staff and changing their roles.",
    Role.ADMIN: "Everything except managing staff: designs, passes, programs, campaigns, "
    "wallet credentials, API keys and the audit log.",
    Role.MARKETER: "Designs, passes, loyalty programs and campaigns; sees the credentials "
    "and the event log.",
    Role.ANALYST: "Reads everything the business runs, with the event log; changes nothing.",
    Role.CASHIER: "At the counter: looks up cards, posts purchases and visits, validates and "
    "redeems codes.",
    Role.VIEWER: "Reads designs, passes, programs and campaigns; changes nothing.",
}


def scopes_of(role: Role) -> frozenset[Scope]:
    """The scopes a member with ``role`` holds."""
    return _SCOPES[role]


def describe(role: Role) -> str:
    """One sentence saying what ``role`` may do (English; the admin app translates it)."""
    return _DESCRIPTIONS[role]


def parse_role(value: str) -> Role:
    """``value`` as a role, or :class:`~passmint.tenants.errors.InvalidRole`."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidRole(
            f"{value!r} is not a role; the roles are {', '.join(r.value for r in Role)}",
            details={"roles": [r.value for r in Role]},
        ) from None
