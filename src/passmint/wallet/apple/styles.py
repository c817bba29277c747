"""Pass styles and transit types: the vocabulary shared by the model, images and bundle."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class PassStyle(StrEnum):
    """The five legacy style dictionaries; exactly one appears in a pass.json."""

    BOARDING_PASS = "boardingPass"  # noqa: S105 - a style name
    COUPON = "coupon"
    EVENT_TICKET = "eventTicket"
    GENERIC = "generic"
    STORE_CARD = "storeCard"


class TransitType(StrEnum):
    AIR = "PKTransitTypeAir"
    BOAT = "PKTransitTypeBoat"
    BUS = "PKTransitTypeBus"
    GENERIC = "PKTransitTypeGeneric"
    TRAIN = "PKTransitTypeTrain"


STYLE_KEYS: tuple[str, ...] = tuple(s.value for s in PassStyle)
_STYLES: dict[str, PassStyle] = {s.value: s for s in PassStyle}


def style_of(pass_json: object) -> PassStyle | None:
    """The single legacy style present in a pass.json mapping, or None if not exactly one."""
    if not isinstance(pass_json, (dict, Mapping)):
        return None
    present = [key for key in STYLE_KEYS if key in pass_json]
    return _STYLES[present[0]] if len(present) == 1 else None
