"""A campaign in the demo tenant for the campaign screens (the demo seeds none): made once
per server through the API with the demo's key, with a generated batch, an imported one
and a redemption, so each screen shows every part of itself."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from tests.ui.server import UiServer

_MADE: dict[str, str] = {}
"""The campaign's id per server (its base URL)."""


def api(server: UiServer, method: str, path: str, body: Any, **headers: str) -> Any:
    """One call of the server's API with the demo's key; the parsed JSON answer."""
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - our own server's http URL
        server.url(path),
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {server.demo['api_key']}",
            "Content-Type": "text/csv" if isinstance(body, str) else "application/json",
            **headers,
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our server
        return json.load(response)


def campaign_id(server: UiServer) -> str:
    """The demo campaign's id (made on first use)."""
    if server.base_url in _MADE:
        return _MADE[server.base_url]
    campaign = api(
        server,
        "POST",
        "/api/v1/campaigns",
        {
            "name": "Spring 10 % off",
            "kind": "discount",
            "percent_off_bp": 1000,
            "max_discount": 1500,
            "currency": "EUR",
            "rules": {
                "timezone": "Europe/Paris",
                "min_order_amount": 1000,
                "total_limit": 1000,
            },
        },
    )
    path = f"/api/v1/campaigns/{campaign['id']}"
    api(
        server,
        "POST",
        path + "/batches",
        {"count": 20, "prefix": "SPRING-", "pattern": "####-####"},
    )
    api(server, "POST", path + "/codes/import", "code\nSPRING-PRINTED-001\nSPRING-PRINTED-002\n")
    api(
        server,
        "POST",
        "/api/v1/redemptions",
        {
            "code": "SPRING-PRINTED-001",
            "order": {"amount": 2450, "currency": "EUR", "id": "A-1042"},
        },
        **{"Idempotency-Key": str(uuid.uuid4())},
    )
    _MADE[server.base_url] = str(campaign["id"])
    return _MADE[server.base_url]


def campaign_path(server: UiServer) -> str:
    return f"/admin/campaigns/{campaign_id(server)}"


def redemptions_path(server: UiServer) -> str:
    return campaign_path(server) + "/redemptions"
