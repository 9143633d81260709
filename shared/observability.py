"""Logger, Metrics and Tracer, created once per container.

* Logger: JSON, correlation id from the API Gateway request id, and a
  formatter that keeps personal data out of every record (see ``redact``).
* Metrics: CloudWatch EMF, namespace from ``POWERTOOLS_METRICS_NAMESPACE``.
* Tracer: the Powertools/X-Ray SDK tracer costs ~0.5 s of cold start (its
  ``aws_xray_sdk`` import). Lambda's own active tracing (``Tracing: Active``
  in the template) already traces every invocation for free, so SDK
  subsegments are opt-in per function with ``TRACER_ENABLED=true``; when it is
  off the decorators below are no-ops and nothing X-Ray is imported.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord

F = TypeVar("F", bound=Callable[..., Any])

# Keys whose values are personal data (SPEC conventions) wherever they appear in a record.
PII_KEYS = frozenset(
    {
        "name", "full_name", "real_name", "first_name", "last_name", "id_number", "id_no",
        "national_id", "phone", "phone_number", "mobile", "card_number", "pan", "card_no",
        "face", "face_image", "image", "embedding", "face_embedding", "email", "address",
        "password", "otp", "code", "authorization", "token", "credential_number", "student_number",
        "passcode", "verification_token", "secret", "signing_secret", "client_secret",
        # network and place (risk signals): addresses and coordinates are personal data
        "ip", "source_ip", "sourceip", "ip_address", "x-forwarded-for", "x_forwarded_for", "lat", "lon",
        "latitude", "longitude", "geo", "last_location",  # not "location": Powertools names the code line so
    }
)
REDACTED = "*****"
# Runs of 11+ digits (phone, ID, card numbers) inside free text, also grouped by spaces or dashes.
_DIGITS = re.compile(r"\d(?:[ -]?\d){10,}")
# Secrets by shape inside free text: bearer tokens (JWT), proxy order codes (what a QR encodes), base64 images.
_SECRET_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r"|P1\.[a-z0-9]{1,8}\.[A-Za-z0-9_-]{27}\.[A-Za-z0-9_-]{43}"
    r"|data:image/[a-z]+;base64,[A-Za-z0-9+/=]*|(?:/9j/|iVBORw0KGgo|R0lGOD|UklGR)[A-Za-z0-9+/=]{40,}"
    r"|\[\s*-?[\d.eE-]+(?:\s*,\s*-?[\d.eE-]+){31,}\s*\]"  # a vector written out in text
)
# A list of this many numbers is a vector (a face embedding): logged as its length only.
_VECTOR_MIN = 32


# Powertools' own keys hold AWS identifiers (account ids in ARNs), never personal data.
_TRUSTED_KEYS = frozenset({"function_arn", "xray_trace_id", "function_request_id", "correlation_id", "timestamp"})


def redact(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with PII keys erased, long digit runs masked, tokens, order codes and base64 images
    erased, and long number vectors (embeddings) reduced to their length (recursive)."""
    if depth > 8:
        return value
    if isinstance(value, Mapping):
        return {
            k: (
                REDACTED if isinstance(k, str) and k.lower() in PII_KEYS
                else v if k in _TRUSTED_KEYS
                else redact(v, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) >= _VECTOR_MIN and all(isinstance(v, int | float) for v in value):
            return f"<{len(value)} numbers>"
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, str):
        value = _SECRET_SHAPES.sub(REDACTED, value)
        return _DIGITS.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-2:], value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that runs every record through :func:`redact`."""

    def serialize(self, log: LogRecord) -> str:
        return super().serialize(redact(log))


# A read-only route legitimately publishes no metric; that is not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# The environment (POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set in the template's Globals)
# wins; the defaults only matter where this module is imported before any environment exists (tests, tools).
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "wallet", logger_formatter=RedactingFormatter())
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Wallet")


class _LazyTracer:
    """Powertools ``Tracer`` when ``TRACER_ENABLED`` is true; identity decorators otherwise."""

    def __init__(self) -> None:
        self.enabled = os.environ.get("TRACER_ENABLED", "false").lower() == "true"
        self._tracer: Any = None
        if self.enabled:
            from aws_lambda_powertools import Tracer  # heavy: imports aws_xray_sdk

            self._tracer = Tracer()

    def capture_lambda_handler(self, fn: F) -> F:
        return self._tracer.capture_lambda_handler(fn) if self._tracer else fn  # type: ignore[no-any-return]

    def capture_method(self, fn: F) -> F:
        return self._tracer.capture_method(fn) if self._tracer else fn  # type: ignore[no-any-return]


tracer = _LazyTracer()
