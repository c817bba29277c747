"""The starter gallery's names and descriptions (passmint/wallet/designs/gallery/*.json), as
literal texts for ``make messages``: the designs page shows them through gettext
(``_(s.name)``), and a starter's text missing here would stay in English.
tests/admin/test_catalogs.py keeps this list and the gallery the same."""

from __future__ import annotations

from typing import Final


def N_(message: str) -> str:
    """Marks ``message`` for extraction; translated where it is shown."""
    return message


STARTER_TEXTS: Final = (
    N_("Café stamp card"),
    N_("Ten stamps for a free drink: the stamps on the front, the next reward below."),
    N_("Retail points card with tiers"),
    N_("Points on every purchase, a tier on top and the points still to go to the next one."),
    N_("Percentage coupon"),
    N_("A discount off the next order, with its code as a QR code and as text."),
    N_("Gift card with a balance"),
    N_("A gift card showing what is left on it, updated after every purchase."),
    N_("Event ticket"),
    N_(
        "A concert ticket: date, venue and seat on the front, shown on the lock screen at the door."
    ),
    N_("Membership card"),
    N_("A member's card: name, level and member number, with the opening hours behind."),
    N_("Boarding pass"),
    N_("A flight's boarding pass: route, gate and seat, with the gate changes on the lock screen."),
)
