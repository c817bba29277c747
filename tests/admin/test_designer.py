"""The designer on the server: starting from the gallery, the live preview partial, images
uploaded in any of the three formats (and what is refused), saving with and without
problems, the history, rolling back, and the test pass for a phone."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image

from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.admin.conftest import AdminClient, Team
from tests.service.conftest import put_apple_credentials

pytestmark = pytest.mark.anyio


async def _start(owner: AdminClient, starter: str = "cafe-stamp-card", name: str = "Card") -> str:
    created = await owner.post("/admin/designs/new", {"starter": starter, "name": name})
    assert created.status_code == 303, created.text
    path = created.headers["location"]
    page = await owner.get(path)
    assert page.status_code == 200
    return str(path)


def _form(page_html: str) -> dict[str, str]:
    """The designer form's current values, as a browser would send them."""
    form: dict[str, str] = {}
    body = page_html.split('id="design-form"', 1)[1].split("</form>", 1)[0]
    for match in re.finditer(r"<input([^>]*)>", body):
        attrs = dict(re.findall(r'([a-z_-]+)="([^"]*)"', match.group(1)))
        if "name" not in attrs or attrs.get("type") in ("checkbox", "file", "color"):
            continue
        form[attrs["name"]] = attrs.get("value", "")
    for match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', match.group(2))
        form[match.group(1)] = selected.group(1) if selected else ""
    import html

    return {k: html.unescape(v) for k, v in form.items()}


async def test_every_starter_opens_in_the_designer_without_errors(owner: AdminClient) -> None:
    for starter in (
        "cafe-stamp-card",
        "retail-points",
        "percentage-coupon",
        "gift-card",
        "event-ticket",
        "membership-card",
        "boarding-pass",
    ):
        path = await _start(owner, starter, f"From {starter}")
        page = await owner.get(path)
        assert "No problems: this design can be saved." in page.text or "badge warn" in page.text
        assert "The errors must be fixed before saving." not in page.text
        assert "<svg" in page.text  # the barcode, drawn on the server


async def test_the_preview_follows_the_form_and_shows_problems_at_their_controls(
    owner: AdminClient,
) -> None:
    path = await _start(owner)
    form = _form((await owner.get(path)).text)
    form["colors.background"] = "#114477"
    form["organization_name"] = "<script>alert(1)</script>"
    preview = await owner.post(path + "/preview", form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert (
        "&#34;--pass-bg&#34;: &#34;#114477&#34;" in preview.text
        or '"--pass-bg": "#114477"' in preview.text
    )
    assert "<script>alert(1)</script>" not in preview.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.text
    form["colors.background"] = "#12"
    flagged = await owner.post(path + "/preview", form)
    assert "colors.background" in flagged.text  # data-problems names the control
    assert "The errors must be fixed before saving." in flagged.text


async def test_a_design_with_problems_is_not_saved(owner: AdminClient) -> None:
    path = await _start(owner)
    form = _form((await owner.get(path)).text)
    form["colors.background"] = "#12"
    refused = await owner.post(path + "/save", form)
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    assert "Version 1" in (await owner.get(path)).text


async def test_save_confirm_publish_history_and_roll_back(owner: AdminClient) -> None:
    path = await _start(owner)
    form = _form((await owner.get(path)).text)
    form["organization_name"] = "Café Lumen Helsinki"
    confirm = await owner.post(path + "/save", form)
    assert confirm.status_code == 200
    assert "0 live passes will be re-rendered" in confirm.text
    assert "Café Lumen Helsinki" in confirm.text  # the difference, before publishing
    assert "/barcode/encoding" not in confirm.text  # a default filled in is no change
    design = re.search(r'name="design" value="([^"]*)"', confirm.text)
    assert design is not None
    import html

    published = await owner.post(path + "/publish", {"design": html.unescape(design.group(1))})
    assert published.status_code == 303
    assert "Version 2" in (await owner.get(path)).text
    history = await owner.get(path + "/versions?a=1&b=2")
    assert "/organization_name" in history.text
    rolled = await owner.post(path + "/rollback/1")
    assert rolled.status_code == 303
    page = await owner.get(path)
    assert "Version 3" in page.text
    assert "Café Lumen Helsinki" not in page.text


async def test_a_forged_publish_is_checked_like_any_design(owner: AdminClient) -> None:
    path = await _start(owner)
    bad = await owner.post(path + "/publish", {"design": '{"organization_name": ""}'})
    assert bad.status_code == 422
    assert "Version 1" in (await owner.get(path)).text


def _image(kind: str, size: tuple[int, int] = (87, 87)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 20)).save(out, format=kind)
    return out.getvalue()


def _bomb() -> bytes:
    """A small PNG whose header announces 30,000 × 30,000 pixels (a decompression bomb)."""
    data = bytearray(_image("PNG", (8, 8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 30000, 30000)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


async def test_images_are_taken_in_three_formats_and_refused_with_the_reason(
    owner: AdminClient, runtime: Runtime, team: Team
) -> None:
    path = await _start(owner)
    upload = path + "/images/logo"
    for kind in ("PNG", "JPEG", "WEBP"):
        answer = await owner.http.post(
            upload,
            data={"csrf_token": owner.csrf},
            files={"file": (f"logo.{kind.lower()}", _image(kind), f"image/{kind.lower()}")},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text
        assert re.search(r'name="images.logo" value="[0-9a-f-]{36}"', answer.text)
        assert answer.headers["HX-Trigger"] == "design-changed"
    refused = {
        "not an image": b"%PDF-1.4 not an image",
        "a bomb": _bomb(),
    }
    for what, data in refused.items():
        answer = await owner.http.post(
            upload,
            data={"csrf_token": owner.csrf},
            files={"file": ("x.png", data, "image/png")},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 422, what
        assert "This image was refused" in answer.text, what
        assert 'value=""' in answer.text, what  # nothing stored in the slot
    huge = await owner.http.post(
        upload,
        data={"csrf_token": owner.csrf},
        files={"file": ("x.png", b"\0" * (11 * 1024 * 1024), "image/png")},
        headers={"HX-Request": "true"},
    )
    assert huge.status_code == 413


async def test_try_it_on_my_phone_needs_credentials_then_gives_one_test_pass(
    owner: AdminClient, team: Team, dev_pki: DevPki
) -> None:
    path = await _start(owner)
    offered = await owner.get(path + "/try")  # a GET shows, never makes, the test pass
    assert "Make my test pass" in offered.text
    missing = await owner.post(path + "/try")
    assert missing.status_code == 409
    assert "/admin/settings" in missing.text  # where to add them
    await put_apple_credentials(owner.http, team.api_key, dev_pki)
    made = await owner.post(path + "/try")
    assert made.headers["location"] == path + "/try"
    first = await owner.get(path + "/try")
    assert first.status_code == 200
    assert "<svg" in first.text
    link = re.search(r'<a href="(https://[^"]+/p/[^"]+)">', first.text)
    assert link is not None
    await owner.post(path + "/try")
    again = await owner.get(path + "/try")
    assert link.group(1) in again.text  # the same test pass, refreshed


async def test_a_refused_upload_keeps_the_slot_s_image(owner: AdminClient) -> None:
    path = await _start(owner)
    form = _form((await owner.get(path)).text)
    icon = form["images.icon"]
    assert icon
    refused = await owner.http.post(
        path + "/images/icon",
        data={"csrf_token": owner.csrf, "images.icon": icon},
        files={"file": ("x.png", b"not an image", "image/png")},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert f'name="images.icon" value="{icon}"' in refused.text
