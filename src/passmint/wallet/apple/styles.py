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


def style_of(pass_json: object) -> PassStyle | None:
    """The single legacy style present in a pass.json mapping, or None if not exactly one."""
    if not isinstance(pass_json, Mapping):
        return None
    present = [s for s in PassStyle if s.value in pass_json]
    return present[0] if len(present) == 1 else None
