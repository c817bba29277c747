from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passmint.kit import der


@given(st.integers(min_value=-(2**200), max_value=2**200))
def test_integer_round_trips(value: int) -> None:
    assert der.parse(der.integer(value)).as_int() == value


@given(st.binary(max_size=70000))
def test_lengths_round_trip(content: bytes) -> None:
    node = der.parse(der.octet_string(content))
    assert node.content == content


@pytest.mark.parametrize(
    ("dotted", "encoded"),
    [
        ("1.2.840.113549.1.7.2", "06092a864886f70d010702"),
        ("2.16.840.1.101.3.4.2.1", "0609608648016503040201"),
        ("1.2.840.113635.100.6.1.16", "060a2a864886f76364060110"),
    ],
)
def test_oid_encoding_matches_x690(dotted: str, encoded: str) -> None:
    assert der.oid(dotted).hex() == encoded
    assert der.parse(der.oid(dotted)).as_oid() == dotted


def test_set_of_sorts_elements() -> None:
    a, b = der.octet_string(b"\x02"), der.octet_string(b"\x01")
    assert der.set_of(a, b) == der.tlv(der.SET, b + a)


def test_signing_time_uses_utctime_until_2049_then_generalized() -> None:
    early = der.signing_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert early[0] == der.UTC_TIME
    assert der.parse(early).as_time() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    late = der.signing_time(datetime(2051, 1, 1, tzinfo=UTC))
    assert late[0] == der.GENERALIZED_TIME
    assert der.parse(late).as_time().year == 2051


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x05\x01", b"\x04\x01\x00\x00", b"\x1f\x01\x00"],
)
def test_malformed_input_raises_der_error(data: bytes) -> None:
    with pytest.raises(der.DerError):
        der.parse(data).children()


def test_children_of_nested_sequence() -> None:
    node = der.parse(der.seq(der.integer(1), der.seq(der.null()), der.explicit(0, b"\x05\x00")))
    kids = node.children()
    assert [k.tag for k in kids] == [der.INTEGER, der.SEQUENCE, 0xA0]
    assert kids[2].children()[0].tag == der.NULL
