"""Identity and card numbers: the checks every capability that touches them shares (§5 real-name, §6 binding).

* ``is_valid_id_number``: a resident identity number of the PRC, GB 11643-1999: 17 digits (region, date of
  birth, sequence) and a check character over ISO 7064 MOD 11-2 (``0``-``9`` or ``X``).
* ``IdNumber``: the pydantic type of such a number (normalised to upper case; the message never echoes it).
* ``mask_id_number``: what may be shown (first and last character).
* ``contains_pan``: whether free text carries something that looks like a payment card number (13-19 digits,
  optionally grouped by spaces or dashes, passing the Luhn check), so a schema can refuse it before anything
  stores or logs it.

Nothing here logs, stores or returns the numbers it checks.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
# 13-19 digits, optionally grouped by single spaces or dashes ("4111 1111 1111 1111").
_PAN_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ \-]?\d){12,18}(?!\d)")


def id_check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    """GB 11643-1999: shape, a real date of birth (not in the future), and the check character."""
    value = value.strip().upper()
    if not _ID_SHAPE.match(value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return id_check_character(value[:17]) == value[17]


def _id_number(value: str) -> str:
    if not is_valid_id_number(value):
        raise PydanticCustomError("id_number_invalid", "Not a valid resident identity number (GB 11643 checksum).")
    return value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


IdNumber = Annotated[str, BeforeValidator(_upper), StringConstraints(min_length=18, max_length=18),
                     AfterValidator(_id_number)]
"""A GB 11643 resident identity number (upper-case ``X``); invalid ones are a 422 without the value echoed."""


def birth_date(value: str) -> date | None:
    """The date of birth a valid GB 11643 number carries (digits 7-14), None for anything else."""
    if not is_valid_id_number(value):
        return None
    value = value.strip()
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def mask_id_number(value: str) -> str:
    """``110101199003070012`` -> ``1****************2``."""
    return value[0] + "*" * (len(value) - 2) + value[-1] if len(value) > 2 else "*" * len(value)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def contains_pan(text: str) -> bool:
    """True when ``text`` holds a Luhn-valid run of 13-19 digits (spaces or dashes between digits allowed)."""
    return any(luhn_valid(re.sub(r"[ \-]", "", m.group(0))) for m in _PAN_CANDIDATE.finditer(text))
