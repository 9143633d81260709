"""The log scanner catches every kind of personal data and secret, and the platform's logger removes them.

Seeded with known values of each kind: the scanner must find each in a raw line; logged through the platform's
Powertools logger (``shared.observability.logger``, its ``RedactingFormatter``), the emitted line must not
carry it. The scanner itself runs over every log line of the test run (``tests/conftest.py``).
"""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from local_stack import tokens
from shared.observability import RedactingFormatter, logger, redact
from tests.logscan import SCANNER, luhn_ok, resident_id_ok, scan

EMBEDDING = [round(0.01 * i - 0.3, 4) for i in range(128)]
SEEDS: dict[str, str] = {
    "card_number": "4111 1111 1111 1111",
    "resident_id": "11010519491231002X",
    "phone": "+8613812345678",
    "otp": json.dumps({"otp": "482913"}),
    "password": json.dumps({"password": "correct horse"}),
    "verification_token": json.dumps({"verification_token": "vt_9f8e7d6c5b4a"}),
    "qr_code": "P1.k1." + base64.urlsafe_b64encode(bytes(range(20))).decode().rstrip("=") + "."
               + base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("="),
    "bearer_token": tokens.issue("alice", ["admin"]),
    "face_embedding": json.dumps(EMBEDDING),
    "base64_image": "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMDBAUIBQUEBAUKBwcGCAwKDAwLCwoL",
}


def test_checksums_are_the_standard_ones() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert resident_id_ok("11010519491231002X") and not resident_id_ok("110105194912310021")
    assert scan("mobile 13812345678 today") == {"phone"}
    assert scan("order po_0123456789abcdef0123456789abcdef acc_4111111111111111x") == set()  # ids are not PII
    assert scan('{"Timestamp": 1795987033318}') == set()  # a clock is not a card number
    # a request id whose first groups form a Luhn-valid 16-digit run (found flaking the run) is not a card
    assert luhn_ok("5846532864414916")
    assert scan('{"correlation_id":"58465328-6441-4916-a589-ba73d0c1e576"}') == set()
    assert scan("card 5846-5328-6441-4916 declined") == {"card_number"}  # the same digits as a card are


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_scanner_catches_each_kind_in_a_raw_line(kind: str) -> None:
    assert kind in scan(f"request failed for {SEEDS[kind]} while processing"), kind


def platform_line(**fields: object) -> str:
    """One line as the platform's logger writes it (its own formatter, a private stream)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    logger._logger.addHandler(handler)
    SCANNER.paused.on = True
    try:
        logger.info("processing request", extra=fields)
    finally:
        SCANNER.paused.on = False
        logger._logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_platform_logger_removes_each_kind(kind: str) -> None:
    value: object = SEEDS[kind]
    if kind in ("otp", "password", "verification_token"):
        value = json.loads(SEEDS[kind])
    if kind == "face_embedding":
        value = EMBEDDING
    as_field = platform_line(detail=value)  # a value in free-form details
    as_text = platform_line(note=f"user said {SEEDS[kind]}")  # inside free text
    assert scan(as_field) == set() and scan(as_text) == set(), (kind, as_field, as_text)
    assert redact({"phone": "+8613812345678"}) == {"phone": "*****"}


def test_a_leak_through_any_handler_is_found_and_named() -> None:
    # Given a library logger that bypasses the platform's formatter
    stream = io.StringIO()
    leaky = logging.getLogger("tests.leaky")
    handler = logging.StreamHandler(stream)
    leaky.addHandler(handler)
    leaky.propagate = False
    try:
        # When it logs a bearer token
        leaky.warning("calling with Bearer %s", SEEDS["bearer_token"])
    finally:
        leaky.removeHandler(handler)
    # Then the session's scanner recorded it (taken here, so this test does not fail the run)
    findings = SCANNER.take()
    assert [f.kinds for f in findings] == [("bearer_token",)] and findings[0].logger == "tests.leaky"
