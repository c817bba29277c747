"""The gallery's starters: seven designs, each valid for both wallets with no problem at
all: rendered to a signed bundle the project's verifier (and OpenSSL) accepts, to Google
classes and objects the walletobjects discovery document accepts, and previewed clean."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.images import needed_source
from passmint.wallet.apple.signing import ManifestSigner
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.designs.gallery import ASSET_PREFIX, ProgramKind, Starter, gallery, starter
from passmint.wallet.designs.preview import PreviewAsset, render_preview
from passmint.wallet.designs.render_apple import (
    localization_tables,
    make_sample_data,
    render_files,
    render_pass_json,
    validate_design,
)
from passmint.wallet.designs.schemas import parse_design
from passmint.wallet.google.render import render_class, render_object, validate_design_for_google
from passmint.wallet.google.verticals import vertical_for
from tests.conftest import PassCheck
from tests.passes.google import discovery

STARTERS = gallery()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ISSUER = "3388000000012345678"


def by_slug() -> list[Any]:
    return [pytest.param(item, id=item.slug) for item in STARTERS]


def assets(item: Starter) -> dict[str, bytes]:
    """The starter's pictures under the asset ids its design names."""
    return item.images()


def test_the_gallery_has_the_seven_starters_the_designer_offers() -> None:
    assert [(s.slug, s.style, s.program_kind) for s in STARTERS] == [
        ("cafe-stamp-card", PassStyle.STORE_CARD, ProgramKind.STAMPS),
        ("retail-points", PassStyle.STORE_CARD, ProgramKind.POINTS),
        ("percentage-coupon", PassStyle.COUPON, ProgramKind.COUPON),
        ("gift-card", PassStyle.STORE_CARD, ProgramKind.GIFT),
        ("event-ticket", PassStyle.EVENT_TICKET, ProgramKind.EVENT),
        ("membership-card", PassStyle.GENERIC, ProgramKind.MEMBERSHIP),
        ("boarding-pass", PassStyle.BOARDING_PASS, ProgramKind.TRANSIT),
    ]
    assert STARTERS[3].design["gift_card"] is True
    assert any("ar" in s.languages for s in STARTERS)
    for item in STARTERS:
        assert item.name
        assert item.description
        assert "\n" not in item.description
        assert len(item.languages) >= 2
        assert starter(item.slug) is item
    with pytest.raises(KeyError):
        starter("nope")


@pytest.mark.parametrize("item", by_slug())
def test_the_pictures_fill_their_slots_and_are_always_the_same(item: Starter) -> None:
    images = item.images()
    assert set(images) == set(item.image_names())
    assert all(key.startswith(ASSET_PREFIX) for key in images)
    gift = bool(item.design.get("gift_card"))
    for key, data in images.items():
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            need = needed_source(item.image_names()[key], item.style, image.size, gift_card=gift)
            assert need is not None
            assert image.width >= need[0]
            assert image.height >= need[1]
    assert item.images() == images


@pytest.mark.parametrize("item", by_slug())
def test_every_sample_fills_every_placeholder(item: Starter) -> None:
    design = parse_design(item.design)
    generated = make_sample_data(design)
    names = {n for n in generated if n not in ("serial_number", "pass_id")}
    assert names <= set(item.sample_data), names - set(item.sample_data)


@pytest.mark.parametrize("item", by_slug())
def test_every_starter_is_a_signed_apple_pass_with_no_problem(
    item: Starter, signer: ManifestSigner, check_pass: PassCheck, now: datetime
) -> None:
    design = parse_design(item.design)
    files = assets(item)
    assert validate_design(design, item.style, assets=files, sample_data=item.sample_data) == []
    pass_json = render_pass_json(
        design,
        item.style,
        make_sample_data(design, item.sample_data),
        serial_number=f"SN-{item.slug}",
        pass_type_identifier="pass.dev.passmint.demo",
        team_identifier="PASSMINT01",
        web_service_url="https://passes.example/apple",
        authentication_token="tok-0123456789abcdef",
    )
    tables = localization_tables(design)
    strings = {f"{lang}.lproj/pass.strings": table for lang, table in tables.items()}
    assert validate_pass_json(pass_json, strings=strings) == []
    bundle = PassTemplate(pass_json, render_files(design, item.style, files))
    report = check_pass(bundle.build(signer, signing_time=now))
    assert report.ok
    assert report.problems == []


@pytest.mark.parametrize("item", by_slug())
def test_every_starter_is_a_google_class_and_object_google_accepts(item: Starter) -> None:
    design = parse_design(item.design)
    urls = {
        name.value: f"https://passes.example/i/{name.value}.png"
        for name, _ in design.images.items()
    }
    assert validate_design_for_google(design, item.style) == []
    vertical = vertical_for(
        item.style, gift_card=design.gift_card, transit_type=design.transit_type
    )
    class_id = f"{ISSUER}.pm-{item.slug}"
    body_class = render_class(
        design, item.style, issuer_id=ISSUER, class_id=class_id, image_urls=urls
    )
    body_object = render_object(
        design,
        item.style,
        make_sample_data(design, item.sample_data),
        issuer_id=ISSUER,
        class_id=class_id,
        object_id=f"{ISSUER}.pm-SN-{item.slug}",
        serial_number=f"SN-{item.slug}",
        image_urls=urls,
        voided=False,
        now=NOW,
    )
    assert discovery().validate(vertical.class_schema, body_class) == []
    assert discovery().validate(vertical.object_schema, body_object) == []


@pytest.mark.parametrize("item", by_slug())
@pytest.mark.parametrize("language", [None, "first", "second"])
def test_every_starter_previews_with_no_problem_in_each_language(
    item: Starter, language: str | None
) -> None:
    sizes = {key: Image.open(io.BytesIO(data)).size for key, data in item.images().items()}
    known = {
        key: PreviewAsset(
            f"https://passes.example/i/{key}.png", f"https://passes.example/i/{key}.png", *size
        )
        for key, size in sizes.items()
    }
    lang = {None: None, "first": item.languages[0], "second": item.languages[1]}[language]
    result = render_preview(
        item.design,
        item.style,
        now=NOW,
        sample_data=item.sample_data,
        language=lang,
        assets=known,
        web_service_url="https://passes.example/apple",
    )
    assert [str(p.as_dict()) for p in result.problems] == []
    assert result.pass_json is not None
    assert result.google_object is not None
    assert result.barcode is not None
    assert result.barcode.svg is not None
    if lang is not None:
        assert result.strings
        assert result.localized_pass_json != result.pass_json
    assert result.direction == ("rtl" if lang == "ar" else "ltr")


def test_a_starter_design_names_the_uploads_it_is_given() -> None:
    item = starter("cafe-stamp-card")
    ids = {key: f"asset-{n}" for n, key in enumerate(sorted(item.images()))}
    design = item.design_with(ids)
    assert set(design["images"].values()) == set(ids.values())
    assert item.design["images"]["icon"] == "starter:icon"  # the starter itself is unchanged
    with pytest.raises(KeyError):
        item.design_with({})


def test_a_huge_number_in_a_field_is_a_problem_not_a_crash() -> None:
    import pytest
    from pydantic import ValidationError

    from passmint.wallet.designs.schemas import TemplateDesign

    design = {
        "organization_name": "X",
        "description": "X",
        "images": {"icon": "00000000-0000-0000-0000-000000000001"},
        "fields": {"primary": [{"key": "p", "label": "P", "value": 10**400}]},
    }
    with pytest.raises(ValidationError) as caught:
        TemplateDesign.model_validate(design)
    assert caught.value.errors()[0]["type"] == "number_too_large"
