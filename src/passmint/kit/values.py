"""Strict input types for money, points, counts and dates.

JSON bodies are parsed before they are validated, and Pydantic's lax mode would then take
``"100"`` or ``true`` for an amount and ``-7.7e-75`` (a Unix time) for a birthday. These
types take exactly one JSON form each: an integer (never a boolean, a float or a numeric
string) for money, points and counts, and an ISO-8601 string for dates and date-times.
Ranges belong to the fields (``Field(ge=1)``) or to the rules of their domain.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Final

from pydantic import BeforeValidator, Field, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

Money = Annotated[
    int,
    Strict(),
    Field(description="An integer amount in minor units (cents), never a string or a float."),
]
"""Its range is the field's (``Field(ge=0, le=...)``) or its domain's (coupons answer
``invalid_amount``)."""
Points = Annotated[
    int, Strict(), Field(description="An integer number of points, never a string or a float.")
]
Count = Annotated[int, Strict()]
"""A whole number of things (uses, codes, days), never a string or a float."""

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)


def _iso_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # from Python callers; JSON brings strings
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_format", "a date is an ISO-8601 string: YYYY-MM-DD")


def _iso_datetime(value: object) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value  # from Python callers; JSON brings strings
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.upper().replace(" ", "T"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                raise PydanticCustomError(
                    "timezone_aware", "a date-time needs its zone: Z or an offset like +01:00"
                )
            return moment
    raise PydanticCustomError(
        "datetime_format",
        "a date-time is an ISO-8601 string with a zone, e.g. 2026-03-10T14:30:00Z",
    )


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["1990-03-10"]}),
]
"""A calendar date, sent as ``YYYY-MM-DD`` and nothing else."""

AwareDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-03-10T14:30:00Z"]}),
]
"""A moment, sent as an ISO-8601 string with its zone (``Z`` or ``+01:00``)."""
