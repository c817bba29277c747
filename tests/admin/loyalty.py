"""A loyalty program with a card, made through the API, for the admin app's loyalty screens
(tests/admin/test_programs.py and test_customers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import auth, cafe_design, put_apple_credentials

PROGRAM: dict[str, Any] = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 1, "per_amount": 250, "currency": "EUR"},
        {"key": "welcome", "trigger": "enrollment", "points": 40},
    ],
    "tiers": [
        {"key": "bronze", "name": "Bronze", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 250, "multiplier": 12_500},
    ],
    "expiry": {"kind": "rolling", "days": 365},
}


@dataclass
class Loyalty:
    """A tenant's template, program and one card (with its customer) made through the API."""

    template_id: str
    program_id: str
    account_id: str
    customer_id: str
    card_number: str


async def api(
    http: httpx.AsyncClient, key: str, method: str, path: str, body: Any = None, **headers: str
) -> dict[str, Any]:
    response = await http.request(
        method, f"/api/v1{path}", headers={**auth(key), **headers}, json=body
    )
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def make_loyalty(
    http: httpx.AsyncClient,
    key: str,
    pki: DevPki,
    *,
    customer: dict[str, str] | None = None,
    program_name: str = "Café points",
) -> Loyalty:
    await put_apple_credentials(http, key, pki)
    design = await cafe_design(http, key)
    template = await api(
        http, key, "POST", "/templates", {"name": "Card", "style": "storeCard", "design": design}
    )
    program = await api(
        http,
        key,
        "POST",
        "/programs",
        {"name": program_name, "template_id": template["id"], "config": PROGRAM},
    )
    card = await api(
        http,
        key,
        "POST",
        f"/programs/{program['id']}/accounts",
        {"customer": customer or {"name": "Ada Lovelace", "email": "ada@example.com"}},
    )
    return Loyalty(
        template_id=template["id"],
        program_id=program["id"],
        account_id=card["id"],
        customer_id=card["customer_id"],
        card_number=card["number"],
    )
