"""A design carried over to another style keeps what the style can show."""

from __future__ import annotations

from typing import Any

from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.restyle import restyle
from passmint.wallet.designs.schemas import parse_design


def _design() -> dict[str, Any]:
    return {
        "organization_name": "Lumen",
        "description": "Lumen card",
        "gift_card": True,
        "images": {"icon": "a1", "logo": "a2", "strip": "a3"},
        "localized_images": {"ar": {"strip": "a4"}, "fi": {"logo": "a5", "strip": "a6"}},
        "fields": {"auxiliary": [{"key": "x", "value": "1", "row": 1}]},
        "links": [{"label": "Terms", "url": "https://lumen.example/terms"}],
    }


def test_what_the_new_style_has_no_room_for_is_left_out_and_said() -> None:
    design = _design()
    moved = restyle(design, PassStyle.GENERIC)
    assert moved.design["images"] == {"icon": "a1", "logo": "a2"}
    assert moved.design["localized_images"] == {"fi": {"logo": "a5"}}
    assert "gift_card" not in moved.design
    assert "row" not in moved.design["fields"]["auxiliary"][0]
    assert moved.design["links"] == design["links"]
    assert set(moved.dropped) == {
        "/images/strip",
        "/localized_images/ar/strip",
        "/localized_images/fi/strip",
        "/gift_card",
        "/fields/auxiliary/0/row",
    }
    assert moved.added == ()
    assert design["images"]["strip"] == "a3"  # the original is not changed
    parse_design(moved.design)  # still a design


def test_a_boarding_pass_gets_a_transit_type_and_loses_it_again() -> None:
    design = _design()
    del design["gift_card"]
    flight = restyle(design, PassStyle.BOARDING_PASS)
    assert flight.design["transit_type"] == "PKTransitTypeGeneric"
    assert flight.added == ("/transit_type",)
    back = restyle(flight.design, PassStyle.STORE_CARD)
    assert "transit_type" not in back.design
    assert "/transit_type" in back.dropped
    assert "/images/strip" in flight.dropped  # a boarding pass has no strip
    assert back.design["images"] == {"icon": "a1", "logo": "a2"}


def test_an_event_ticket_keeps_its_rows_and_a_store_card_its_gift_flag() -> None:
    assert restyle(_design(), PassStyle.EVENT_TICKET).design["fields"]["auxiliary"][0]["row"] == 1
    assert restyle(_design(), PassStyle.STORE_CARD).design["gift_card"] is True
