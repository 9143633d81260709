"""Personal data and secrets in log lines: the scanner the whole test run is held to (tests/conftest.py).

``scan(line)`` returns the kinds of sensitive value it finds in one formatted log line:

* ``card_number``: a Luhn-valid run of 13-19 digits (spaces or dashes between groups allowed);
* ``resident_id``: an 18-character Chinese resident ID number with a valid GB 11643-1999 check character;
* ``phone``: an E.164 number (``+`` and 8-15 digits) or an 11-digit CN mobile number (``1[3-9]…``);
* ``otp``, ``password``, ``verification_token``, ``secret``: the value of such a key, unless it is redacted;
* ``qr_code``: a proxy order code (``P1.<kid>.<payload>.<tag>``, ``shared/proxy/codes.py``);
* ``bearer_token``: a JWT (three base64url parts, the first two JSON objects) or ``Bearer <credential>``;
* ``face_embedding``: an array of 32 or more floats;
* ``base64_image``: a data URL of an image or base64 that starts with a JPEG/PNG/GIF/WebP signature.

The capture (``install``) wraps ``logging.Handler.format``: every line any handler writes — Powertools' JSON
loggers (which do not propagate to the root), the local stack's, the libraries' — is scanned as written.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from shared.identity_numbers import id_check_character
from shared.identity_numbers import luhn_valid as luhn_ok

_B = r"(?<![0-9A-Za-z])"  # no digit or letter before …
_E = r"(?![0-9A-Za-z])"  # … or after (ids and hashes are not card numbers)
CARD = re.compile(_B + r"(\d(?:[ -]?\d){12,18})" + _E)
RESIDENT_ID = re.compile(_B + r"(\d{17}[\dXx])" + _E)
PHONE = re.compile(r"(?<![0-9A-Za-z+])(\+\d{8,15}|1[3-9]\d{9})" + _E)
SECRET_KEYS = re.compile(r'"(otp|otp_code|password|passcode|verification_token|x-verification-token|secret|'
                         r'signing_secret|client_secret)"\s*:\s*"([^"]*)"', re.IGNORECASE)
QR_CODE = re.compile(r"P1\.[a-z0-9]{1,8}\.[A-Za-z0-9_-]{27}\.[A-Za-z0-9_-]{43}")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
BEARER = re.compile(r"Bearer\s+(?!\*)[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
EMBEDDING = re.compile(r"\[\s*-?\d+(?:\.\d+)?(?:[eE]-?\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?(?:[eE]-?\d+)?){31,}\s*\]")
IMAGE = re.compile(r"data:image/[a-z]+;base64,|(?:/9j/|iVBORw0KGgo|R0lGOD|UklGR)[A-Za-z0-9+/]{40,}")
# Values the platform's logger writes in place of personal data (shared/observability.py).
REDACTED = {"*****", ""}
# Keys whose numbers are clocks (epoch milliseconds look like 13-digit card numbers).
_CLOCKS = re.compile(r'"(?:Timestamp|timestamp|time|iat|exp|ts|created|expires_at)"\s*:\s*\d+')
# UUIDs (request and correlation ids): "58465328-6441-4916-a589-…" starts with a dash-grouped, Luhn-valid run.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

def resident_id_ok(text: str) -> bool:
    """The GB 11643 shape and check character only (no date check: a leaked number with an odd date is still one)."""
    return bool(re.fullmatch(r"\d{17}[\dXx]", text)) and id_check_character(text[:17]) == text[17].upper()


def scan(line: str) -> set[str]:  # noqa: C901 - one rule per kind, in order
    found: set[str] = set()
    text = _UUID.sub("", _CLOCKS.sub("", line))
    for m in RESIDENT_ID.finditer(text):
        if resident_id_ok(m.group(1)):
            found.add("resident_id")
    for m in CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(1))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and not resident_id_ok(digits):
            found.add("card_number")
    if PHONE.search(text):
        found.add("phone")
    for m in SECRET_KEYS.finditer(text):
        if m.group(2) not in REDACTED:
            key = m.group(1).lower()
            found.add("otp" if key.startswith("otp") else "password" if key in ("password", "passcode")
                      else "verification_token" if "verification" in key else "secret")
    if QR_CODE.search(text):
        found.add("qr_code")
    if JWT.search(text) or BEARER.search(text):
        found.add("bearer_token")
    if EMBEDDING.search(text):
        found.add("face_embedding")
    if IMAGE.search(text):
        found.add("base64_image")
    return found


@dataclass(frozen=True)
class Finding:
    kinds: tuple[str, ...]
    logger: str
    line: str

    def __str__(self) -> str:
        excerpt = self.line if len(self.line) < 300 else self.line[:300] + "…"
        return f"{'/'.join(self.kinds)} in a log line of {self.logger!r}: {excerpt}"


class LogScanner:
    """Collects the findings of every formatted log line while installed."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.lines = 0
        self._lock = threading.Lock()
        self._original: Callable[[logging.Handler, logging.LogRecord], str] | None = None
        self.paused = threading.local()

    def install(self) -> None:
        if self._original is not None:
            return
        original = self._original = logging.Handler.format
        scanner = self

        def format_and_scan(handler: logging.Handler, record: logging.LogRecord) -> str:
            line = original(handler, record)
            if not getattr(scanner.paused, "on", False):
                scanner.check(line, record.name)
            return line

        logging.Handler.format = format_and_scan  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            logging.Handler.format = self._original  # type: ignore[method-assign]
            self._original = None

    def check(self, line: str, logger: str) -> None:
        kinds = scan(line)
        with self._lock:
            self.lines += 1
            if kinds:
                self.findings.append(Finding(tuple(sorted(kinds)), logger, line))

    def take(self) -> list[Finding]:
        with self._lock:
            found, self.findings = self.findings, []
        return found


SCANNER = LogScanner()
