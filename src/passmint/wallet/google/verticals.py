"""Google Wallet verticals and how passmint's styles map onto them (spec §1).

Each vertical is a pair of REST resources, a class (the template) and an object (one
holder's pass): ``loyaltyClass``/``loyaltyObject`` ...; their discovery schemas are
``LoyaltyClass``/``LoyaltyObject``; JWT payload keys are ``loyaltyClasses``/
``loyaltyObjects`` (spec §2).
"""

from __future__ import annotations

from enum import StrEnum

from passmint.wallet.apple.styles import PassStyle, TransitType

__all__ = ["Vertical", "vertical_for"]


class Vertical(StrEnum):
    """A Google Wallet vertical (the prefix of its resource names)."""

    LOYALTY = "loyalty"
    OFFER = "offer"
    GIFT_CARD = "giftCard"
    EVENT_TICKET = "eventTicket"
    GENERIC = "generic"
    FLIGHT = "flight"
    TRANSIT = "transit"

    @property
    def class_resource(self) -> str:
        """REST resource of the class: ``loyaltyClass``."""
        return f"{self.value}Class"

    @property
    def object_resource(self) -> str:
        """REST resource of the object: ``loyaltyObject``."""
        return f"{self.value}Object"

    @property
    def class_schema(self) -> str:
        """Discovery schema of the class: ``LoyaltyClass``."""
        return self.value[0].upper() + self.value[1:] + "Class"

    @property
    def object_schema(self) -> str:
        """Discovery schema of the object: ``LoyaltyObject``."""
        return self.value[0].upper() + self.value[1:] + "Object"

    @property
    def jwt_classes_key(self) -> str:
        """Save-JWT payload key for classes: ``loyaltyClasses``."""
        return f"{self.value}Classes"

    @property
    def jwt_objects_key(self) -> str:
        """Save-JWT payload key for objects: ``loyaltyObjects``."""
        return f"{self.value}Objects"


_BY_STYLE = {
    PassStyle.STORE_CARD: Vertical.LOYALTY,
    PassStyle.COUPON: Vertical.OFFER,
    PassStyle.EVENT_TICKET: Vertical.EVENT_TICKET,
    PassStyle.GENERIC: Vertical.GENERIC,
}


def vertical_for(
    style: PassStyle, *, gift_card: bool = False, transit_type: TransitType | None = None
) -> Vertical:
    """The vertical of a template: storeCard→loyalty (giftCard when ``gift_card``),
    coupon→offer, eventTicket→eventTicket, generic→generic, boardingPass air→flight,
    boardingPass of any other transit type→transit."""
    style = PassStyle(style)
    if style is PassStyle.BOARDING_PASS:
        return Vertical.FLIGHT if transit_type is TransitType.AIR else Vertical.TRANSIT
    if style is PassStyle.STORE_CARD and gift_card:
        return Vertical.GIFT_CARD
    return _BY_STYLE[style]
