"""Pass images: the size table, rendering, model-folder preparation and check 16."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from passmint.wallet.apple.images import (
    IMAGE_SPECS,
    LARGEST_SIDE,
    MAX_PIXELS,
    Fit,
    ImageCorruptError,
    ImageError,
    ImageNotPngError,
    ImageNotSupportedError,
    ImageTooManyPixelsError,
    ImageTooSmallError,
    check_images,
    check_png,
    png_size,
    point_size,
    prepare_images,
    render_image_set,
    supported_images,
)
from passmint.wallet.apple.problems import Problem, Severity, errors_only
from passmint.wallet.apple.styles import PassStyle
from tests.fixtures.images import png16

# --- helpers ------------------------------------------------------------------------------


def gradient(width: int, height: int, mode: str = "RGBA") -> Image.Image:
    """A horizontal red ramp, a vertical green ramp and a diagonal alpha: resizing shows."""
    ramp = Image.linear_gradient("L")  # 256×256, black at the top, white at the bottom
    red = ramp.rotate(90).resize((width, height))  # black at the left, white at the right
    green = ramp.resize((width, height))
    blue = Image.new("L", (width, height), 96)
    alpha = Image.blend(red, green, 0.5).point(lambda v: 255 - v // 2)
    image = Image.merge("RGBA", (red, green, blue, alpha))
    return image if mode == "RGBA" else image.convert(mode)


def png(width: int, height: int, mode: str = "RGBA", **save: object) -> bytes:
    buffer = io.BytesIO()
    gradient(width, height, mode).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    gradient(width, height, "RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def with_header_size(data: bytes, width: int, height: int) -> bytes:
    """A PNG whose IHDR claims another size (CRC fixed, pixels not)."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return data[:16] + ihdr + crc + data[33:]


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


def source_for(
    name: str, style: PassStyle, *, gift_card: bool = False
) -> tuple[bytes, tuple[int, int]]:
    """A source 4× the point box (same aspect) and the @1x size it must render to."""
    box = point_size(name, style, gift_card=gift_card)
    assert box is not None
    return png(box[0] * 4, box[1] * 4), box


RENDERABLE = [
    (spec.name, style)
    for spec in IMAGE_SPECS.values()
    if spec.fit is not Fit.AS_IS
    for style in sorted(spec.styles)
]

# --- the table ----------------------------------------------------------------------------


def test_table_matches_apple_sizes() -> None:
    assert point_size("icon", PassStyle.GENERIC) == (29, 29)
    assert point_size("logo", PassStyle.BOARDING_PASS) == (160, 50)
    assert point_size("strip", PassStyle.EVENT_TICKET) == (375, 98)
    assert point_size("strip", PassStyle.COUPON) == (375, 144)
    assert point_size("strip", PassStyle.STORE_CARD) == (375, 123)
    assert point_size("strip", PassStyle.STORE_CARD, gift_card=True) == (375, 144)
    assert point_size("background", PassStyle.EVENT_TICKET) == (180, 220)
    assert point_size("thumbnail", PassStyle.GENERIC) == (90, 90)
    assert point_size("footer", PassStyle.BOARDING_PASS) == (286, 15)
    assert point_size("personalizationLogo", PassStyle.STORE_CARD) == (150, 40)
    assert point_size("artwork", PassStyle.EVENT_TICKET) is None


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (PassStyle.BOARDING_PASS, {"icon", "logo", "footer"}),
        (PassStyle.COUPON, {"icon", "logo", "strip"}),
        (PassStyle.GENERIC, {"icon", "logo", "thumbnail"}),
        (PassStyle.STORE_CARD, {"icon", "logo", "strip"}),
        (
            PassStyle.EVENT_TICKET,
            {"icon", "logo", "strip", "background", "thumbnail", "artwork"}
            | {"primaryLogo", "secondaryLogo", "venueMap"},
        ),
    ],
)
def test_supported_images(style: PassStyle, expected: set[str]) -> None:
    assert set(supported_images(style)) == expected


def test_personalization_logo_needs_nfc() -> None:
    assert "personalizationLogo" not in supported_images(PassStyle.STORE_CARD)
    assert "personalizationLogo" in supported_images(PassStyle.STORE_CARD, nfc=True)


# --- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "style"), RENDERABLE)
def test_render_produces_exact_pixel_sizes(name: str, style: PassStyle) -> None:
    source, (w, h) = source_for(name, style)
    out = render_image_set(name, source, style, nfc=True)
    assert {k: size_of(v) for k, v in out.items()} == {
        f"{name}.png": (w, h),
        f"{name}@2x.png": (2 * w, 2 * h),
        f"{name}@3x.png": (3 * w, 3 * h),
    }
    assert errors_only(check_images({**out, **_icon()}, style, nfc=True)) == []


def test_render_gift_card_strip() -> None:
    source, _ = source_for("strip", PassStyle.STORE_CARD, gift_card=True)
    out = render_image_set("strip", source, PassStyle.STORE_CARD, gift_card=True)
    assert size_of(out["strip@3x.png"]) == (1125, 432)


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("logo", (1600, 160), (160, 16)),  # wide: touches the width
        ("logo", (300, 600), (25, 50)),  # tall: touches the height
        ("logo", (479, 150), (159, 50)),  # a pixel short on the free side still works
        ("footer", (2000, 50), (286, 7)),
        ("thumbnail", (900, 300), (90, 60)),  # 3:1 clamped to 3:2
        ("thumbnail", (300, 900), (60, 90)),  # 1:3 clamped to 2:3
        ("thumbnail", (600, 900), (60, 90)),  # 2:3 kept
        ("thumbnail", (900, 800), (90, 80)),  # inside the range: kept
        ("icon", (400, 200), (29, 29)),  # exact: cover + crop
        ("strip", (1200, 2000), (375, 144)),
    ],
)
def test_render_fits_and_crops(
    name: str, source: tuple[int, int], expected: tuple[int, int]
) -> None:
    style = PassStyle.GENERIC if name == "thumbnail" else PassStyle.COUPON
    if name == "footer":
        style = PassStyle.BOARDING_PASS
    out = render_image_set(name, png(*source), style)
    assert size_of(out[f"{name}.png"]) == expected
    assert size_of(out[f"{name}@3x.png"]) == (expected[0] * 3, expected[1] * 3)


def test_render_centre_crops_and_resamples() -> None:
    # 400×200 with red rising left to right: the centred 200×200 crop starts a quarter in.
    out = decoded(render_image_set("icon", png(400, 200), PassStyle.GENERIC)["icon@3x.png"])
    left, *_ = out.getpixel((0, 43))  # type: ignore[misc]
    right, *_ = out.getpixel((86, 43))  # type: ignore[misc]
    assert 48 < left < 80  # about 64, not 0: the left quarter was cropped away
    assert 176 < right < 208
    assert len(set(out.get_flattened_data())) > 100  # a real resample, not a flat fill


def test_render_keeps_alpha() -> None:
    out = render_image_set("logo", png(480, 150), PassStyle.COUPON)
    for data in out.values():
        image = decoded(data)
        assert image.mode == "RGBA"
        alphas = image.getchannel("A").getextrema()
        assert alphas[0] < 200  # type: ignore[operator]


def test_render_palette_with_transparency_becomes_rgba() -> None:
    palette = gradient(90, 90).convert("RGB").quantize(16)
    palette.info["transparency"] = 0
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)
    out = render_image_set("icon", buffer.getvalue(), PassStyle.GENERIC)
    assert decoded(out["icon.png"]).mode == "RGBA"


def test_render_scales_16_bit_grey_instead_of_clipping() -> None:
    buffer = io.BytesIO()
    Image.new("I;16", (90, 90), 60000).save(buffer, format="PNG")
    image = decoded(render_image_set("icon", buffer.getvalue(), PassStyle.GENERIC)["icon.png"])
    assert image.mode == "L"
    assert image.getpixel((10, 10)) == 233


def test_render_opaque_rgb_stays_rgb() -> None:
    out = render_image_set("icon", png(90, 90, "RGB"), PassStyle.GENERIC)
    assert decoded(out["icon@2x.png"]).mode == "RGB"


def test_render_is_deterministic_and_metadata_free() -> None:
    source = png(1200, 500, pnginfo=_text_chunk())
    first = render_image_set("strip", source, PassStyle.COUPON)
    second = render_image_set("strip", source, PassStyle.COUPON)
    assert first == second
    for data in first.values():
        assert set(chunk_types(data)) <= {b"IHDR", b"IDAT", b"IEND"}


def test_render_keeps_icc_profile() -> None:
    source = png(90, 90, icc_profile=b"not-a-real-profile")
    out = render_image_set("icon", source, PassStyle.GENERIC)
    assert decoded(out["icon.png"]).info["icc_profile"] == b"not-a-real-profile"


def _text_chunk() -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", "an editor")
    return info


@pytest.mark.parametrize(
    ("name", "style"),
    [
        ("background", PassStyle.COUPON),
        ("footer", PassStyle.STORE_CARD),
        ("strip", PassStyle.GENERIC),
        ("strip", PassStyle.BOARDING_PASS),
        ("thumbnail", PassStyle.STORE_CARD),
        ("personalizationLogo", PassStyle.COUPON),
        ("artwork", PassStyle.GENERIC),
        ("banner", PassStyle.GENERIC),
    ],
)
def test_render_refuses_unsupported_images(name: str, style: PassStyle) -> None:
    with pytest.raises(ImageNotSupportedError) as caught:
        render_image_set(name, png(1200, 700), style)
    message = caught.value.message
    assert name in message
    assert str(style) in message
    assert ", ".join(supported_images(style)) in message
    assert caught.value.code == "image_not_supported_by_style"
    assert caught.value.status == 422
    assert caught.value.problems[0].path == f"{name}.png"


def test_render_personalization_logo_without_nfc_is_refused() -> None:
    with pytest.raises(ImageNotSupportedError, match="NFC"):
        render_image_set("personalizationLogo", png(450, 120), PassStyle.STORE_CARD)


def test_render_refuses_poster_assets() -> None:
    with pytest.raises(ImageError, match="no documented size") as caught:
        render_image_set("artwork", png(900, 900), PassStyle.EVENT_TICKET)
    assert caught.value.code == "invalid_image"


def test_render_refuses_jpeg_renamed_png() -> None:
    with pytest.raises(ImageNotPngError, match=r"logo\.png is not a PNG.*JPEG") as caught:
        render_image_set("logo", jpeg(480, 150), PassStyle.COUPON)
    assert caught.value.code == "image_not_png"


@pytest.mark.parametrize(
    ("name", "style", "source", "needed"),
    [
        ("icon", PassStyle.GENERIC, (80, 80), "87×87"),
        ("strip", PassStyle.COUPON, (1000, 500), "1125×432"),
        ("strip", PassStyle.EVENT_TICKET, (1125, 200), "1125×294"),
        ("logo", PassStyle.COUPON, (300, 100), "450×150"),
        ("background", PassStyle.EVENT_TICKET, (500, 700), "540×660"),
        ("thumbnail", PassStyle.GENERIC, (200, 200), "270×270"),
    ],
)
def test_render_refuses_too_small_source(
    name: str, style: PassStyle, source: tuple[int, int], needed: str
) -> None:
    with pytest.raises(ImageTooSmallError) as caught:
        render_image_set(name, png(*source), style)
    assert f"at least {needed} px" in caught.value.message
    assert f"{source[0]}×{source[1]} px" in caught.value.message
    assert caught.value.code == "image_too_small"


def test_refuses_decompression_bomb_from_header() -> None:
    claimed = with_header_size(png(10, 10), 20_000, 20_000)
    with pytest.raises(ImageTooManyPixelsError, match="400,000,000 pixels"):
        render_image_set("strip", claimed, PassStyle.COUPON)


def test_refuses_real_compressed_bomb() -> None:
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000  # tiny on disk ...
    assert MAX_PIXELS < 8000 * 6000  # ... but over the cap once decoded
    with pytest.raises(ImageTooManyPixelsError):
        render_image_set("strip", buffer.getvalue(), PassStyle.COUPON)


def test_refuses_damaged_png() -> None:
    data = png(300, 300)
    with pytest.raises(ImageCorruptError):
        render_image_set("icon", data[: len(data) // 2], PassStyle.GENERIC)
    with pytest.raises(ImageCorruptError, match="no IHDR"):
        render_image_set("icon", data[:8] + b"garbage" * 5, PassStyle.GENERIC)


def test_png_size_reads_header_only() -> None:
    assert png_size(png(31, 17)) == (31, 17)
    with pytest.raises(ImageNotPngError):
        png_size(b"GIF89a....")


def test_the_pixel_limit_follows_from_the_largest_slot() -> None:
    """No slot needs more than its @3x size: the widest is a strip (375 pt, 1,125 px); a
    square twice that side covers any slot with room to crop."""
    widest = max(
        max(point_size(name, style, gift_card=gift) or (0, 0))
        for name, spec in IMAGE_SPECS.items()
        for style in spec.styles
        for gift in (False, True)
    )
    assert LARGEST_SIDE == 3 * widest == 1125
    assert MAX_PIXELS == (2 * LARGEST_SIDE) ** 2 == 5_062_500


def test_the_issues_6300_px_16_bit_png_is_refused_from_its_header() -> None:
    with pytest.raises(ImageTooManyPixelsError) as caught:
        check_png(png16(6300, 6300), path="upload")
    assert caught.value.details["max_pixels"] == MAX_PIXELS
    assert (caught.value.details["width"], caught.value.details["height"]) == (6300, 6300)
    assert "at most 5,062,500" in caught.value.message
    assert check_png(png16(2250, 2250)) == (2250, 2250)


def test_check_png_decodes_every_pixel() -> None:
    """png_size reads the header only, so it takes a truncated file; check_png does not."""
    data = png(300, 300)
    truncated = data[: len(data) * 2 // 3]
    assert png_size(truncated) == (300, 300)
    with pytest.raises(ImageCorruptError, match="damaged PNG"):
        check_png(truncated)
    assert check_png(data) == (300, 300)


# --- check 16 -----------------------------------------------------------------------------


def _icon() -> dict[str, bytes]:
    return {"icon.png": png(29, 29), "icon@2x.png": png(58, 58), "icon@3x.png": png(87, 87)}


def test_check_accepts_a_complete_bundle() -> None:
    files = {
        **_icon(),
        **render_image_set("logo", png(480, 150), PassStyle.STORE_CARD),
        **render_image_set("strip", png(1125, 369), PassStyle.STORE_CARD),
        "pass.json": b"{}",
        "manifest.json": b"not looked at",
        "fr.lproj/pass.strings": b'"a" = "b";',
    }
    assert check_images(files, PassStyle.STORE_CARD) == []


def test_check_png_named_non_png() -> None:
    problems = check_images({**_icon(), "logo.png": jpeg(160, 50)}, PassStyle.COUPON)
    assert codes(problems) == {("logo.png", "image_not_png")}
    assert "JPEG" in problems[0].message


def test_check_damaged_and_bomb() -> None:
    problems = check_images(
        {
            **_icon(),
            "logo.png": png(160, 50)[:100],
            "strip.png": with_header_size(png(10, 10), 10_000, 10_000),
        },
        PassStyle.COUPON,
    )
    assert codes(problems) == {
        ("logo.png", "image_corrupt"),
        ("strip.png", "image_too_many_pixels"),
    }


def test_check_density_mismatch_against_1x() -> None:
    files = {
        **_icon(),
        "logo.png": png(160, 50),
        "logo@2x.png": png(320, 99),
        "logo@3x.png": png(481, 150),
    }
    problems = check_images(files, PassStyle.COUPON)
    assert codes(problems) == {
        ("logo@2x.png", "image_density_mismatch"),
        ("logo@3x.png", "image_density_mismatch"),
    }
    assert "320×100 px" in problems[0].message


def test_check_density_mismatch_without_1x() -> None:
    ok = check_images({**_icon(), "logo@2x.png": png(300, 80), "logo@3x.png": png(450, 120)}, None)
    assert ok == []
    bad = check_images({**_icon(), "logo@2x.png": png(300, 80), "logo@3x.png": png(450, 121)}, None)
    assert codes(bad) == {("logo@3x.png", "image_density_mismatch")}


def test_check_missing_icon() -> None:
    problems = check_images({"logo.png": png(160, 50), "fr.lproj/icon.png": png(29, 29)}, None)
    assert ("icon.png", "image_missing_icon") in codes(problems)
    assert errors_only(problems)[0].severity is Severity.ERROR


def test_check_icon_with_one_density_is_enough_but_warned() -> None:
    problems = check_images({"icon@3x.png": png(87, 87)}, PassStyle.GENERIC)
    assert codes(problems) == {("icon@3x.png", "image_missing_density")}
    assert problems[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("files", "path"),
    [
        ({"icon.png": png(20, 20)}, "icon.png"),
        ({"icon@2x.png": png(50, 50), "icon@3x.png": png(75, 75)}, "icon@2x.png"),
        ({"icon.png": png(29, 28)}, "icon.png"),
    ],
)
def test_check_icon_too_small(files: dict[str, bytes], path: str) -> None:
    assert (path, "image_too_small") in codes(errors_only(check_images(files, None)))


def test_check_larger_icon_is_fine() -> None:
    assert errors_only(check_images({"icon.png": png(40, 40)}, None)) == []


@pytest.mark.parametrize(
    ("style", "name", "size", "bad"),
    [
        (PassStyle.COUPON, "logo.png", (161, 50), True),
        (PassStyle.COUPON, "logo.png", (160, 51), True),
        (PassStyle.COUPON, "logo.png", (160, 50), False),
        (PassStyle.COUPON, "logo@2x.png", (320, 100), False),
        (PassStyle.COUPON, "logo@2x.png", (322, 100), True),
        (PassStyle.BOARDING_PASS, "footer.png", (287, 15), True),
        (PassStyle.BOARDING_PASS, "footer@3x.png", (858, 45), False),
        (PassStyle.BOARDING_PASS, "footer@3x.png", (858, 48), True),
    ],
)
def test_check_maximum_boxes(style: PassStyle, name: str, size: tuple[int, int], bad: bool) -> None:
    problems = errors_only(check_images({**_icon(), name: png(*size)}, style))
    assert codes(problems) == ({(name, "image_too_large")} if bad else set())


@pytest.mark.parametrize(
    ("size", "bad"),
    [((90, 90), False), ((90, 60), False), ((60, 90), False), ((90, 59), True), ((40, 90), True)],
)
def test_check_thumbnail_aspect(size: tuple[int, int], bad: bool) -> None:
    problems = check_images({**_icon(), "thumbnail.png": png(*size)}, PassStyle.GENERIC)
    assert codes(problems) == ({("thumbnail.png", "image_bad_aspect")} if bad else set())


def test_check_thumbnail_over_90_points_is_a_warning() -> None:
    problems = check_images({**_icon(), "thumbnail.png": png(120, 120)}, PassStyle.GENERIC)
    assert codes(problems) == {("thumbnail.png", "image_too_large")}
    assert problems[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("style", "name"),
    [
        (PassStyle.COUPON, "background"),
        (PassStyle.COUPON, "thumbnail"),
        (PassStyle.STORE_CARD, "footer"),
        (PassStyle.GENERIC, "strip"),
        (PassStyle.BOARDING_PASS, "strip"),
        (PassStyle.GENERIC, "artwork"),
        (PassStyle.STORE_CARD, "personalizationLogo"),  # without NFC
    ],
)
def test_check_only_style_supported_images(style: PassStyle, name: str) -> None:
    files = {**_icon(), f"{name}.png": png(150, 40), f"{name}@2x.png": png(300, 80)}
    problems = check_images(files, style)
    assert codes(problems) == {
        (f"{name}.png", "image_not_supported_by_style"),
        (f"{name}@2x.png", "image_not_supported_by_style"),
    }


def test_check_personalization_logo_with_nfc() -> None:
    files = {**_icon(), "personalizationLogo.png": png(150, 40)}
    assert check_images(files, PassStyle.STORE_CARD, nfc=True) == []


def test_check_style_none_skips_style_rules() -> None:
    assert check_images({**_icon(), "footer.png": png(286, 15)}, None) == []


def test_check_event_ticket_strip_with_background() -> None:
    files = {
        **_icon(),
        "strip.png": png(375, 98),
        "background.png": png(180, 220),
        "fr.lproj/thumbnail.png": png(90, 90),
    }
    problems = check_images(files, PassStyle.EVENT_TICKET)
    assert codes(problems) == {("strip.png", "image_strip_with_background")}
    assert "fr.lproj/thumbnail.png" in problems[0].message


def test_check_event_ticket_background_and_thumbnail_together_is_fine() -> None:
    files = {**_icon(), "background.png": png(180, 220), "thumbnail.png": png(90, 90)}
    assert check_images(files, PassStyle.EVENT_TICKET) == []


@pytest.mark.parametrize(
    ("style", "size", "warned"),
    [
        (PassStyle.EVENT_TICKET, (375, 98), False),
        (PassStyle.EVENT_TICKET, (375, 123), True),
        (PassStyle.COUPON, (375, 144), False),
        (PassStyle.STORE_CARD, (375, 123), False),
        (PassStyle.STORE_CARD, (375, 144), False),  # gift card
        (PassStyle.STORE_CARD, (300, 100), True),
    ],
)
def test_check_strip_size_is_a_warning(
    style: PassStyle, size: tuple[int, int], warned: bool
) -> None:
    problems = check_images({**_icon(), "strip.png": png(*size)}, style)
    assert codes(problems) == ({("strip.png", "image_unexpected_size")} if warned else set())
    assert errors_only(problems) == []


def test_check_unknown_png_is_a_warning() -> None:
    files = {
        **_icon(),
        "banner.png": png(10, 10),
        "icon@4x.png": png(116, 116),
        "a/b.png": png(1, 1),
    }
    problems = check_images(files, PassStyle.COUPON)
    assert codes(problems) == {
        ("banner.png", "image_unknown"),
        ("icon@4x.png", "image_unknown"),
        ("a/b.png", "image_unknown"),
    }
    assert errors_only(problems) == []


def test_check_localized_images_follow_the_same_rules() -> None:
    files = {
        **_icon(),
        "fr.lproj/logo.png": png(160, 50),
        "fr.lproj/logo@2x.png": png(300, 100),
        "de.lproj/background.png": png(180, 220),
        "de.lproj/icon.png": png(10, 10),
    }
    problems = check_images(files, PassStyle.COUPON)
    assert codes(problems) == {
        ("fr.lproj/logo@2x.png", "image_density_mismatch"),
        ("de.lproj/background.png", "image_not_supported_by_style"),
        ("de.lproj/icon.png", "image_too_small"),
    }


def test_check_poster_assets_on_event_ticket() -> None:
    files = {
        **_icon(),
        "artwork@3x.png": png(900, 1200),
        "primaryLogo.png": png(100, 40),
        "secondaryLogo@2x.png": png(200, 80),
        "venueMap.png": png(300, 300),
        "venueMap@2x.png": png(600, 601),
    }
    problems = check_images(files, PassStyle.EVENT_TICKET)
    assert codes(problems) == {("venueMap@2x.png", "image_density_mismatch")}


# --- model folder → bundle ----------------------------------------------------------------


def test_prepare_renders_lone_high_resolution_sources() -> None:
    out = prepare_images(
        {"icon.png": png(300, 300), "logo.png": png(960, 300), "fr.lproj/logo.png": png(480, 150)},
        PassStyle.COUPON,
    )
    assert {k: size_of(v) for k, v in out.items()} == {
        "icon.png": (29, 29),
        "icon@2x.png": (58, 58),
        "icon@3x.png": (87, 87),
        "logo.png": (160, 50),
        "logo@2x.png": (320, 100),
        "logo@3x.png": (480, 150),
        "fr.lproj/logo.png": (160, 50),
        "fr.lproj/logo@2x.png": (320, 100),
        "fr.lproj/logo@3x.png": (480, 150),
    }


def test_prepare_returns_non_images_unchanged() -> None:
    files = {**_icon(), "pass.json": b"{}", "fr.lproj/pass.strings": b'"a" = "b";'}
    assert prepare_images(files, PassStyle.GENERIC) == files


def test_prepare_passes_given_densities_through() -> None:
    files = {**_icon(), "strip@2x.png": png(750, 288), "strip@3x.png": png(1125, 432)}
    assert prepare_images(files, PassStyle.COUPON) == files


def test_prepare_refuses_a_lone_source_too_small_for_3x() -> None:
    files = {"icon.png": png(29, 29), "logo.png": png(100, 30)}
    with pytest.raises(ImageError) as info:
        prepare_images(files, PassStyle.GENERIC)
    assert {p.path for p in info.value.problems} == {"icon.png", "logo.png"}
    assert {p.code for p in info.value.problems} == {"image_too_small"}
    assert "87×87 px" in str(info.value)


def test_prepare_poster_assets_pass_through() -> None:
    files = {**_icon(), "artwork.png": png(1000, 1400)}
    assert prepare_images(files, PassStyle.EVENT_TICKET) == files


def test_prepare_gift_card_strip() -> None:
    files = {**_icon(), "strip.png": png(1200, 500)}
    out = prepare_images(files, PassStyle.STORE_CARD, gift_card=True)
    assert size_of(out["strip.png"]) == (375, 144)


def test_prepare_personalization_logo_with_nfc() -> None:
    files = {**_icon(), "personalizationLogo.png": png(450, 120)}
    out = prepare_images(files, PassStyle.STORE_CARD, nfc=True)
    assert size_of(out["personalizationLogo@3x.png"]) == (450, 120)
    with pytest.raises(ImageNotSupportedError):
        prepare_images(files, PassStyle.STORE_CARD)


def test_prepare_single_problem_raises_the_specific_error() -> None:
    with pytest.raises(ImageTooSmallError) as caught:
        prepare_images({"icon.png": png(60, 60)}, PassStyle.GENERIC)
    assert "87×87" in caught.value.message
    assert codes(caught.value.problems) == {("icon.png", "image_too_small")}


def test_prepare_localized_problem_names_the_localized_path() -> None:
    with pytest.raises(ImageTooSmallError) as caught:
        prepare_images({**_icon(), "fr.lproj/logo.png": png(200, 100)}, PassStyle.COUPON)
    assert caught.value.message.startswith("fr.lproj/logo.png is 200×100 px")
    assert codes(caught.value.problems) == {("fr.lproj/logo.png", "image_too_small")}


def test_prepare_lists_every_problem() -> None:
    files = {
        "icon.png": jpeg(90, 90),
        "strip.png": png(800, 300),
        "background.png": png(540, 660),
        "banner.png": png(10, 10),
        "logo@2x.png": png(320, 100),
        "logo@3x.png": png(480, 151),
    }
    with pytest.raises(ImageError) as caught:
        prepare_images(files, PassStyle.COUPON)
    error = caught.value
    assert type(error) is ImageError
    assert error.code == "invalid_image"
    assert codes(error.problems) == {
        ("icon.png", "image_not_png"),
        ("strip.png", "image_too_small"),
        ("background.png", "image_not_supported_by_style"),
        ("banner.png", "image_unknown"),
        ("logo@3x.png", "image_density_mismatch"),
    }
    assert error.details["problems"][0]["code"] in {p.code for p in error.problems}
    assert "5 image problems" in error.message


def test_prepare_missing_icon() -> None:
    with pytest.raises(ImageError) as caught:
        prepare_images({"logo.png": png(480, 150)}, PassStyle.COUPON)
    assert codes(caught.value.problems) == {("icon.png", "image_missing_icon")}


def test_prepare_event_ticket_strip_with_background() -> None:
    files = {**_icon(), "strip.png": png(1125, 294), "background.png": png(540, 660)}
    with pytest.raises(ImageError) as caught:
        prepare_images(files, PassStyle.EVENT_TICKET)
    assert codes(caught.value.problems) == {("strip.png", "image_strip_with_background")}
