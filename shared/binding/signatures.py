"""HTTP Message Signatures (RFC 9421) between the platform and partner banks, on the ``http-message-signatures``
package: HMAC-SHA256 under the partner's secret, covering ``@method``, ``@target-uri`` and, with a body,
``content-digest`` (RFC 9530, checked against the body here), with the parameters ``created``, ``nonce`` and
``keyid``.

``sign`` is what a partner does (and what the platform does for callbacks); ``verify`` checks everything but the
nonce's novelty (the caller records nonces). Each refusal is its own error (``errors.py``), all 401.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import http_sf
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from shared.binding.errors import (
    DigestMismatch,
    KeyNotPartners,
    SignatureComponentsMissing,
    SignatureExpired,
    SignatureInvalid,
    SignatureMissing,
)

ALGORITHM = algorithms.HMAC_SHA256
BASE_COMPONENTS = ("@method", "@target-uri")
DIGEST = "content-digest"
LABEL = "sig1"
MAX_NONCE = 128
CALLBACK_KEY_SUFFIX = ".callback"  # keyid of the platform's callbacks: the partner key's id + this


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self.keys = keys

    def resolve_public_key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    def resolve_private_key(self, key_id: str) -> bytes:
        return self.keys[key_id]


def sign(method: str, url: str, headers: dict[str, str], body: bytes | None, key_id: str, secret: bytes,
         created: datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """Sign a request in place (adds ``Content-Digest`` when there is a body, ``Signature-Input``, ``Signature``);
    returns ``headers``. The client side, used by the platform's callbacks and by partners' test clients."""
    message = SimpleNamespace(method=method.upper(), url=url, headers=headers)
    components = BASE_COMPONENTS + ((DIGEST,) if body else ())
    signer = HTTPMessageSigner(signature_algorithm=ALGORITHM, key_resolver=_Keys({key_id: secret}))
    signer.sign(message, key_id=key_id, created=created or datetime.now(UTC), nonce=nonce or secrets.token_urlsafe(16),
                label=LABEL, covered_component_ids=components, body=body or None)
    return headers


@dataclass(frozen=True)
class Verified:
    key_id: str
    nonce: str
    created: datetime


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _signature_input(value: str) -> tuple[list[str], dict[str, Any]]:
    try:
        parsed: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SignatureInvalid("Signature-Input is not a structured field dictionary.") from exc
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise SignatureInvalid("Send exactly one signature.")
    (member, params), = parsed.values()
    if not isinstance(member, list) or not isinstance(params, dict):
        raise SignatureInvalid("Signature-Input must be an inner list of components.")
    return [str(item) for item, _ in member], dict(params)


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes, key_for: Callable[[str], bytes],
           now: datetime, max_age: timedelta, skew: timedelta) -> Verified:
    """Check a partner request's signature; ``key_for(keyid)`` returns the secret or raises (``KeyNotPartners``,
    ``KeyExpired``). Order: headers present, components and parameters, time window, key, signature, digest."""
    lowered = _lower(headers)
    if "signature-input" not in lowered or "signature" not in lowered:
        raise SignatureMissing()
    components, params = _signature_input(lowered["signature-input"])
    required = BASE_COMPONENTS + ((DIGEST,) if body else ())
    missing = [c for c in required if c not in components]
    if missing:
        raise SignatureComponentsMissing(missing=missing)
    key_id, nonce, created = params.get("keyid"), params.get("nonce"), params.get("created")
    if not isinstance(key_id, str) or not isinstance(nonce, str) or type(created) is not int:
        raise SignatureInvalid("The signature needs the parameters keyid, nonce and created.")
    if not 8 <= len(nonce) <= MAX_NONCE:
        raise SignatureInvalid(f"nonce must be 8-{MAX_NONCE} characters.")
    if params.get("alg", ALGORITHM.algorithm_id) != ALGORITHM.algorithm_id:
        raise SignatureInvalid(f"Only alg={ALGORITHM.algorithm_id} is accepted.")
    signed_at = _signed_at(created, now, max_age, skew)
    secret = key_for(key_id)
    verifier = HTTPMessageVerifier(signature_algorithm=ALGORITHM, key_resolver=_Keys({key_id: secret}))
    verifier.max_clock_skew = skew
    message = SimpleNamespace(method=method.upper(), url=url, headers=dict(headers))
    try:
        verifier.verify(message, max_age=None, require_components=required)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise SignatureInvalid() from exc
    _check_digest(lowered, body)
    return Verified(key_id=key_id, nonce=nonce, created=signed_at)


def _signed_at(created: int, now: datetime, max_age: timedelta, skew: timedelta) -> datetime:
    """``created`` as a time within ``max_age`` back and ``skew`` ahead of ``now`` (``SignatureExpired``)."""
    try:
        signed_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureExpired("created is not a valid time.") from exc
    if signed_at > now + skew:
        raise SignatureExpired("created is in the future.", limit_seconds=int(skew.total_seconds()))
    if signed_at < now - max_age:
        raise SignatureExpired("created is too old.", limit_seconds=int(max_age.total_seconds()))
    return signed_at


def _check_digest(lowered: Mapping[str, str], body: bytes) -> None:
    """The signed ``Content-Digest`` against the body, with the library's helper (``DigestMismatch``)."""
    if DIGEST not in lowered and not body:
        return
    if DIGEST not in lowered:
        raise DigestMismatch("Send Content-Digest with a body.")
    try:
        ContentDigest.verify(lowered[DIGEST], body)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise DigestMismatch() from exc


__all__ = ["KeyNotPartners", "Verified", "sign", "verify"]
