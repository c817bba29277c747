"""Small valid passes for tests, built in memory."""

from __future__ import annotations

import copy
from typing import Any

from tests.fixtures.images import png

PASS_TYPE = "pass.dev.passmint.demo"
TEAM = "PASSMINT01"


def store_card(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": PASS_TYPE,
        "teamIdentifier": TEAM,
        "serialNumber": "SN-1",
        "organizationName": "Café Lumen",
        "description": "Loyalty card",
        "backgroundColor": "rgb(10, 20, 30)",
        "storeCard": {
            "headerFields": [{"key": "tier", "label": "TIER", "value": "Gold"}],
            "primaryFields": [
                {"key": "points", "label": "POINTS", "value": 10, "changeMessage": "Now %@"}
            ],
            "secondaryFields": [{"key": "name", "label": "NAME", "value": "Ada"}],
        },
        "barcodes": [
            {"format": "PKBarcodeFormatQR", "message": "SN-1", "messageEncoding": "iso-8859-1"}
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def icon_files() -> dict[str, bytes]:
    return {"icon.png": png(29, 29), "icon@2x.png": png(58, 58), "icon@3x.png": png(87, 87)}
