"""kit.values: money, points, counts and dates take one JSON form each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from passmint.kit.values import AwareDateTime, Count, IsoDate, Money, Points


class Values(BaseModel):
    money: Money = 0
    points: Points | None = Field(default=None, ge=1)
    count: Count = 0
    day: IsoDate | None = None
    moment: AwareDateTime | None = None


@pytest.mark.parametrize("field", ["money", "points", "count"])
@pytest.mark.parametrize("value", ["100", True, False, 100.0, 1.5, None, [1]])
def test_numbers_are_integers_only(field: str, value: Any) -> None:
    if value is None and field == "points":
        return  # null is how an optional field is left out
    with pytest.raises(ValidationError):
        Values.model_validate({field: value})


def test_integers_pass_and_fields_keep_their_ranges() -> None:
    values = Values.model_validate({"money": -5, "points": 7, "count": 3})
    assert (values.money, values.points, values.count) == (-5, 7, 3)
    with pytest.raises(ValidationError):
        Values.model_validate({"points": 0})


@pytest.mark.parametrize(
    "value",
    [-7.7e-75, 0, 1654646400, "1654646400", "20200101", "2020-W01-1", "2020-02-30",
     "1990-03-10T00:00:00Z", " 1990-03-10", True],
)  # fmt: skip
def test_a_date_is_an_iso_string_and_nothing_else(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Values.model_validate({"day": value})
    assert caught.value.errors()[0]["type"] == "date_format"


def test_iso_dates_and_date_times_pass() -> None:
    values = Values.model_validate({"day": "1990-03-10", "moment": "2026-03-10T14:30:00+01:00"})
    assert values.day == date(1990, 3, 10)
    assert values.moment == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    assert values.moment.utcoffset() == timedelta(hours=1)
    zulu = Values.model_validate({"moment": "2026-03-10T14:30:00.123Z"}).moment
    assert zulu == datetime(2026, 3, 10, 14, 30, 0, 123000, tzinfo=timezone.utc)  # noqa: UP017


@pytest.mark.parametrize(
    ("value", "kind"),
    [(1700000000, "datetime_format"), ("1700000000", "datetime_format"),
     ("2026-03-10", "datetime_format"), ("2026-03-10T14:30:00", "timezone_aware"),
     (True, "datetime_format")],
)  # fmt: skip
def test_a_date_time_is_an_iso_string_with_its_zone(value: Any, kind: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Values.model_validate({"moment": value})
    assert caught.value.errors()[0]["type"] == kind


def test_the_json_schema_says_strings() -> None:
    properties = Values.model_json_schema()["properties"]
    assert properties["day"]["anyOf"][0] == {
        "type": "string",
        "format": "date",
        "examples": ["1990-03-10"],
    }
    assert properties["moment"]["anyOf"][0]["format"] == "date-time"
    assert properties["money"]["type"] == "integer"
