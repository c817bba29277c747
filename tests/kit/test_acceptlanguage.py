"""Accept-Language, best first: one reading for the admin app, the landing page and the
public pages."""

from __future__ import annotations

from passmint.kit.acceptlanguage import MAX_TAGS, ranked_tags


def test_tags_by_quality_then_order() -> None:
    header = "fr-CA;q=0.8, ar, de;q=0.9, en;q=0.8"
    assert ranked_tags(header) == ["ar", "de", "fr-CA", "en"]


def test_what_is_no_language_is_left_out() -> None:
    header = "*, en;q=0, fi;q=high, x_y, nl;q=0.5, " + "a" * 40
    assert ranked_tags(header) == ["nl"]
    assert ranked_tags(None) == []
    assert ranked_tags("") == []


def test_only_the_first_entries_are_read() -> None:
    header = ",".join(["zz"] * MAX_TAGS + ["fi"])
    assert "fi" not in ranked_tags(header)
