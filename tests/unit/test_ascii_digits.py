"""Numbers a client sends (phone, OTP, card's last 4 digits and expiry, resident ID number) are ASCII digits only.

Python's ``re`` and pydantic's patterns take ``\\d`` as any Unicode decimal digit, so a phone number or an OTP
with one Arabic-Indic or full-width digit passed, and an ID number written with other digits was a second
spelling of the same identity (another keyed hash, another claim). Found by the schema fuzz (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.api.auth import E164
from shared.binding.schemas import Expiry, Last4, Phone
from shared.identity_numbers import id_check_character, is_valid_id_number
from shared.verification.schemas import Otp

ARABIC_INDIC_ZERO, FULL_WIDTH_ZERO = 0x0660, 0xFF10


def _valid_id() -> str:
    first17 = "11010519900307001"
    return first17 + id_check_character(first17)


@pytest.mark.parametrize("zero", [ARABIC_INDIC_ZERO, FULL_WIDTH_ZERO], ids=["arabic-indic", "full-width"])
@pytest.mark.parametrize(("name", "check", "value"), [
    ("phone (token claim)", lambda v: bool(E164.match(v)), "+8613912345678"),
    ("phone (partner API)", TypeAdapter(Phone).validate_python, "+8613912345678"),
    ("otp", TypeAdapter(Otp).validate_python, "123456"),
    ("card last 4", TypeAdapter(Last4).validate_python, "1234"),
    ("card expiry", TypeAdapter(Expiry).validate_python, "12/29"),
    ("id number", is_valid_id_number, _valid_id()),
])
def test_only_ascii_digits_are_numbers(name: str, check: Any, value: str, zero: int) -> None:
    assert check(value)  # the ASCII spelling is valid
    other = value[:-2] + chr(zero + int(value[-2])) + value[-1]  # one digit (not the first, not a check) swapped
    try:
        accepted = check(other)
    except ValidationError:
        accepted = False
    assert not accepted, f"{name}: {other!r} accepted"
