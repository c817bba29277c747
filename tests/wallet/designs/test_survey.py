"""A survey on the back of a pass: one back field of tappable answers on Apple Wallet, an
entry of the links module per answer on Google Wallet, each leading to the pass's own
answers; its problems are at its controls."""

from __future__ import annotations

import re
from typing import Any

from passmint.wallet.apple.problems import Severity
from passmint.wallet.designs.survey import SAMPLE_PASS_URL, survey_answer_url
from tests.wallet.designs.test_preview import at, design, preview

PASS_URL = "https://cards.example/p/tok123"


def surveyed(**survey: Any) -> dict[str, Any]:
    raw = design()
    raw["survey"] = {
        "question": "How was it, {{ name }}?",
        "answers": ["Great", "<b>OK</b>", "Not good"],
        **survey,
    }
    raw["localizations"]["fr"].update({"How was it, {{ name }}?": "C'était comment ?"})
    raw["localizations"]["fr"].update({"Great": "Super"})
    return raw


def test_each_answer_is_a_link_to_the_pass_s_own_answer() -> None:
    sample = {"points": 1, "tier": "Gold", "name": "Ada", "pass_url": PASS_URL}
    result = preview(surveyed(), sample_data=sample)
    # its texts' translations are used (Google's links, the thank-you page): only the
    # Arabic table's lack of them is said
    assert [p.code for p in result.problems] == ["localization_missing"]
    assert result.pass_json is not None
    (field,) = [f for f in result.pass_json["storeCard"]["backFields"] if f["key"] == "survey"]
    assert field["label"] == "How was it, Ada?"
    assert field["value"] == "Great\n<b>OK</b>\nNot good"
    anchors = re.findall(r"<a href='([^']+)'>([^<]*)</a>", field["attributedValue"])
    assert anchors == [
        (f"{PASS_URL}/answers/1", "Great"),
        (f"{PASS_URL}/answers/2", "&lt;b&gt;OK&lt;/b&gt;"),  # escaped: text, not markup
        (f"{PASS_URL}/answers/3", "Not good"),
    ]
    assert result.google_object is not None
    uris = result.google_object["linksModuleData"]["uris"]
    survey = [u for u in uris if u["id"].startswith("survey_")]
    assert [(u["id"], u["uri"], u["description"]) for u in survey] == [
        ("survey_1", f"{PASS_URL}/answers/1", "How was it, Ada?: Great"),
        ("survey_2", f"{PASS_URL}/answers/2", "How was it, Ada?: <b>OK</b>"),
        ("survey_3", f"{PASS_URL}/answers/3", "How was it, Ada?: Not good"),
    ]
    french = {
        t["language"]: t["value"] for t in survey[0]["localizedDescription"]["translatedValues"]
    }
    assert french["fr"] == "How was it, Ada?: Super"  # a placeholder question stays as is


def test_a_key_of_its_own_and_a_preview_without_a_pass() -> None:
    result = preview(surveyed(key="visit"))
    assert result.pass_json is not None
    (field,) = [f for f in result.pass_json["storeCard"]["backFields"] if f["key"] == "visit"]
    assert f"{SAMPLE_PASS_URL}/answers/1" in field["attributedValue"]
    assert survey_answer_url({"pass_url": "javascript:alert(1)"}, 2) == (
        f"{SAMPLE_PASS_URL}/answers/2"
    )


def test_too_few_or_too_many_answers_and_a_clashing_key_are_at_their_controls() -> None:
    for answers in (["Only one"], list("abcdef")):
        found = at(preview(surveyed(answers=answers)), "/survey/answers")
        assert [severity for severity, _ in found.values()] == [Severity.ERROR], found
    assert at(preview(surveyed(question="")), "/survey/question")
    clash = preview(surveyed(key="points"))  # the key of a front field
    assert any(p.path.startswith("/survey") for p in clash.problems), clash.problems
