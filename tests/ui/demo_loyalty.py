"""The demo's loyalty objects the customer screens show, found through the API with the
demo's key (``passmint demo`` records the cards, not their customers)."""

from __future__ import annotations

import json
import urllib.request

from tests.ui.server import UiServer

_FOUND: dict[str, str] = {}
"""The customer's page per server (its base URL)."""


def customer_path(server: UiServer) -> str:
    """The page of the customer holding the demo's first card."""
    if server.base_url not in _FOUND:
        account = server.values()["account_id"]
        request = urllib.request.Request(  # noqa: S310 - our own server's http URL
            server.url(f"/api/v1/accounts/{account}"),
            headers={"Authorization": f"Bearer {server.demo['api_key']}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - ours
            card = json.load(response)
        _FOUND[server.base_url] = f"/admin/customers/{card['customer_id']}"
    return _FOUND[server.base_url]
