"""Finding cards by what staff type at a search box: a card number (spaces allowed, as it
is printed), a customer's email (any case) or phone (E.164, spaces and dashes allowed)."""

from __future__ import annotations

import re
import uuid
from typing import Final

from passmint.loyalty import lookup_repository as repository
from passmint.loyalty.schemas import PHONE
from passmint.passes.service import PassContext

MAX_MATCHES: Final = 200
_NUMBER: Final = re.compile(r"^[0-9]{4,32}$")


async def pass_ids_matching(ctx: PassContext, text: str) -> list[uuid.UUID]:
    """The passes of the cards ``text`` names: by card number, or by their customer's
    email or phone (exact matches)."""
    text = text.strip()
    compact = re.sub(r"[\s().-]", "", text)
    number = compact if _NUMBER.fullmatch(compact) else None
    email = text.lower() if "@" in text else None
    phone = compact if PHONE.fullmatch(compact) else None
    return await repository.pass_ids_of_cards(
        ctx.session, ctx.tenant_id, number=number, email=email, phone=phone, limit=MAX_MATCHES
    )
