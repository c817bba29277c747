"""The designer's form holds everything a design holds: a design of every property, opened
in the designer and sent back as the browser sends it, is the same design (nothing a form
cannot show is lost on save); images per language; a copy in another style."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from passmint.admin import designform
from passmint.admin.designer import _stored
from passmint.wallet.designs.gallery import gallery
from tests.admin.conftest import AdminClient
from tests.admin.test_designer import _image, _start

pytestmark = pytest.mark.anyio


class _Form(HTMLParser):
    """What a browser submits for the form ``design-form``: its controls and those outside
    it that name it (``form="design-form"``), checked boxes as "on", selected options,
    textareas' text; file inputs and unnamed controls left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.depth = 0  # inside <form id="design-form">
        self.select: str | None = None
        self.textarea: str | None = None
        self.template = 0  # inside a <template> (a row to add: not submitted)

    def _ours(self, attrs: dict[str, str | None]) -> bool:
        return self.template == 0 and (self.depth > 0 or attrs.get("form") == "design-form")

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = dict(raw)
        name = attrs.get("name")
        if tag == "template":
            self.template += 1
        elif tag == "form":
            if attrs.get("id") == "design-form":
                self.depth = 1
        elif tag == "input" and name and self._ours(attrs):
            kind = attrs.get("type") or "text"
            if kind == "file":
                return
            if kind == "checkbox":
                if "checked" in attrs:
                    self.values[name] = attrs.get("value") or "on"
                return
            self.values[name] = attrs.get("value") or ""
        elif tag == "select" and name and self._ours(attrs):
            self.select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self.select is not None and "selected" in attrs:
            self.values[self.select] = attrs.get("value") or ""
        elif tag == "textarea" and name and self._ours(attrs):
            self.textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.template -= 1
        elif tag == "form" and self.depth:
            self.depth = 0
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.values[self.textarea] += data


def form_of(page: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(page)
    return parser.values


async def _assets(owner: AdminClient, path: str) -> dict[str, str]:
    """The starter's uploaded images: slot → asset id."""
    form = form_of((await owner.get(path)).text)
    return {k.removeprefix("images."): v for k, v in form.items() if k.startswith("images.") and v}


async def _publish(owner: AdminClient, path: str, design: dict[str, Any]) -> None:
    answer = await owner.post(path + "/publish", {"design": json.dumps(design)})
    assert answer.status_code == 303, answer.text


def _every_property(images: dict[str, str]) -> dict[str, Any]:
    """An event ticket's design using every property of the design schema."""
    field: dict[str, Any] = {
        "key": "doors",
        "label": "DOORS",
        "value": "{{ doors }}",
        "change_message": "Doors now open at %@",
        "text_alignment": "right",
        "date_style": "short",
        "time_style": "short",
        "is_relative": True,
        "ignores_time_zone": True,
    }
    return {
        "organization_name": "Hall Lumen",
        "description": "A night at Hall Lumen",
        "logo_text": "Hall Lumen",
        "colors": {"background": "#102030", "foreground": "#ffffff", "label": "#a8dadc"},
        "images": {"icon": images["icon"], "logo": images["logo"]},
        "localized_images": {"ar": {"logo": images["logo"]}, "fi": {"icon": images["icon"]}},
        "fields": {
            "header": [{"key": "seat", "label": "SEAT", "value": '{{ seat | default: "A1" }}'}],
            "primary": [{"key": "event", "label": "EVENT", "value": "Spring gala"}],
            "secondary": [field],
            "auxiliary": [
                {
                    "key": "price",
                    "label": "PRICE",
                    "value": "{{ price | default: 25 }}",
                    "number_style": "decimal",
                    "currency_code": "EUR",
                    "row": 1,
                }
            ],
            "back": [
                {
                    "key": "terms",
                    "label": "TERMS",
                    "value": "Call +358 40 123 4567 or see https://hall.example",
                    "data_detectors": ["phone_number", "link"],
                },
                {
                    "key": "quiet",
                    "label": "NOTE",
                    "value": "Nothing tappable",
                    "data_detectors": [],
                },
            ],
        },
        "barcode": {
            "format": "pdf417",
            "message": "{{ serial_number }}",
            "alt_text": "Ticket",
            "encoding": "utf-8",
        },
        "locations": [
            {
                "latitude": 60.1699,
                "longitude": 24.9384,
                "altitude": 12.5,
                "relevant_text": "Doors are near",
            }
        ],
        "max_distance": 250,
        "beacons": [
            {
                "proximity_uuid": "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0",
                "major": 7,
                "minor": 9,
                "relevant_text": "Welcome in",
            }
        ],
        "links": [
            {"label": "Terms", "url": "https://hall.example/terms", "key": "terms_link"},
            {"label": "Call us", "url": "tel:+358401234567"},
        ],
        "survey": {"question": "How was the gala?", "answers": ["Great", "Fine"], "key": "gala"},
        "localizations": {
            "ar": {"DOORS": "الأبواب", "Ticket": "تذكرة", "How was the gala?": "كيف كان الحفل؟"},
            "fi": {"DOORS": "OVET", "Doors are near": "Ovet ovat lähellä"},
        },
        "expiration_date": "2027-05-01T23:00:00+03:00",
        "relevant_date": "2027-05-01T19:00:00+03:00",
        "sharing_prohibited": True,
        "grouping_identifier": "spring-gala",
        "semantics": {"eventName": "Spring gala"},
        "user_info": {"source": "designer test"},
    }


def _sent_back(page: str) -> dict[str, Any]:
    design, problems = designform.design_from_form(form_of(page))
    assert problems == []
    return _stored(design)


async def test_a_design_of_every_property_comes_back_from_the_form_unchanged(
    owner: AdminClient,
) -> None:
    path = await _start(owner, "event-ticket", "Gala")
    design = _every_property(await _assets(owner, path))
    await _publish(owner, path, design)
    page = (await owner.get(path)).text
    assert _sent_back(page) == _stored(design)
    # and the page shows the language images' slots and the options' controls
    assert 'name="localized_images.ar.logo"' in page
    assert 'name="fields.back.1.data_detectors"' in page
    assert 'name="fields.auxiliary.0.row"' in page
    assert 'name="survey.answers.1.text"' in page


@pytest.mark.parametrize("slug", [s.slug for s in gallery()])
async def test_every_starter_comes_back_from_the_form_unchanged(
    owner: AdminClient, slug: str
) -> None:
    path = await _start(owner, slug, slug)
    page = (await owner.get(path)).text
    confirm = await owner.post(path + "/save", form_of(page))  # the stored design vs the form's
    assert confirm.status_code == 200, confirm.text
    assert "No differences." in confirm.text, confirm.text


async def test_an_image_for_one_language_is_uploaded_into_its_own_slot(
    owner: AdminClient,
) -> None:
    path = await _start(owner, "retail-points", "Points")  # it has translations
    page = (await owner.get(path)).text
    language = re.search(r'name="localized_images\.([a-zA-Z-]+)\.logo"', page)
    assert language is not None, "a language's image slots are shown"
    lang = language.group(1)
    answer = await owner.http.post(
        path + "/images/logo",
        data={"csrf_token": owner.csrf, "lang": lang},
        files={"file": ("logo.png", _image("PNG"), "image/png")},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200, answer.text
    found = re.search(
        rf'name="localized_images\.{lang}\.logo" value="([0-9a-f-]{{36}})"', answer.text
    )
    assert found is not None
    assert 'name="images.logo"' not in answer.text  # the design's own logo is untouched
    form = form_of(page)
    form[f"localized_images.{lang}.logo"] = found.group(1)
    preview = await owner.post(path + "/preview", form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    design, problems = designform.design_from_form(form)
    assert problems == []
    assert design["localized_images"] == {lang: {"logo": found.group(1)}}
    bad = await owner.http.post(
        path + "/images/logo",
        data={"csrf_token": owner.csrf, "lang": "not a language!"},
        files={"file": ("logo.png", _image("PNG"), "image/png")},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 404


async def test_a_copy_in_another_style_leaves_out_what_the_style_has_no_room_for(
    owner: AdminClient,
) -> None:
    path = await _start(owner, "retail-points", "Points")  # a store card with a strip
    made = await owner.post(path + "/copy", {"style": "generic", "name": "Points, generic"})
    assert made.status_code == 303, made.text
    target = made.headers["location"]
    assert "done=copied" in target
    assert "images/strip" in target  # a generic pass has no strip
    copy = await owner.get(target)
    assert copy.status_code == 200
    assert "Points, generic" in copy.text
    assert "Left out" in copy.text
    assert "images/strip" in copy.text
    design, _ = designform.design_from_form(form_of(copy.text))
    assert "strip" not in design["images"]
    original, _ = designform.design_from_form(form_of((await owner.get(path)).text))
    assert "strip" in original["images"]  # the original is as it was


async def test_a_copy_that_does_not_fit_the_style_says_why_and_makes_nothing(
    owner: AdminClient,
) -> None:
    path = await _start(owner, "boarding-pass", "Flight")  # two primary fields, from and to
    listed = (await owner.get("/admin/designs")).text
    before = listed.count("/admin/designs/")
    refused = await owner.post(path + "/copy", {"style": "coupon", "name": "Coupon"})
    assert refused.status_code == 422
    assert "does not fit" in refused.text
    assert "<code>" in refused.text  # each problem with its place in the design
    assert (await owner.get("/admin/designs")).text.count("/admin/designs/") == before
    for bad in ({"style": "nope", "name": "X"}, {"style": "generic", "name": ""}):
        answer = await owner.post(path + "/copy", bad)
        assert answer.status_code == 422
