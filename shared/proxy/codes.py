"""The proxy order code: what the QR encodes. Compact, versioned, signed, expiring.

Format (ASCII, 77-80 characters, fits a version-5 QR at level M)::

    P1.<kid>.<payload>.<tag>

* ``P1``      format version 1
* ``kid``     signing key id, ``[a-z0-9]{1,8}`` (keys rotate; old ids verify until removed)
* ``payload`` base64url (no padding) of 20 bytes: the order id's 16 random bytes and the
              expiry as a big-endian unsigned 32-bit Unix time
* ``tag``     base64url of HMAC-SHA256(key[kid], "P1.<kid>.<payload>"), all 32 bytes

Verification is pure (no I/O): strict shape, known key id, constant-time tag
comparison on the canonical encoding, then expiry. It runs before any database
read, so a forged, mutated or re-signed code costs one HMAC. Single use is not
the code's job: the order's conditional ``PENDING -> EXECUTED`` write refuses
a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from shared.proxy.errors import InvalidProxyCode, ProxyCodeExpired

VERSION = "P1"
ORDER_ID_BYTES = 16
MIN_KEY_BYTES = 32
_CODE = re.compile(r"^P1\.([a-z0-9]{1,8})\.([A-Za-z0-9_-]{27})\.([A-Za-z0-9_-]{43})$")
_KID = re.compile(r"^[a-z0-9]{1,8}$")
ORDER_ID = re.compile(r"^po_[0-9a-f]{32}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyRing:
    """Signing keys by id; ``active`` signs, every key verifies."""

    active: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError("the active key id has no key")
        for kid, key in self.keys.items():
            if not _KID.match(kid):
                raise ValueError(f"key id {kid!r} must match [a-z0-9]{{1,8}}")
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> KeyRing:
        """``{"active_kid": "k1", "k1": "<secret>", "k0": "<older secret>"}`` (the secret's JSON)."""
        active = data.get("active_kid")
        if not isinstance(active, str):
            raise ValueError("active_kid is missing")
        keys = {k: str(v).encode() for k, v in data.items() if k != "active_kid"}
        return cls(active=active, keys=keys)


@dataclass(frozen=True)
class VerifiedCode:
    order_id: str
    expires_at: int
    kid: str


class CodeSigner:
    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def sign(self, order_id: str, expires_at: int, kid: str | None = None) -> str:
        """The code for an order (deterministic: the QR route re-creates it from the stored order)."""
        if not ORDER_ID.match(order_id):
            raise ValueError("order ids are po_ + 32 hex digits")
        kid = kid or self.keys.active
        payload = _b64(bytes.fromhex(order_id[3:]) + struct.pack(">I", expires_at))
        message = f"{VERSION}.{kid}.{payload}"
        return f"{message}.{_b64(self._tag(kid, message))}"

    def verify(self, code: object, now: float) -> VerifiedCode:
        """The order id and expiry of a genuine, unexpired code; ``InvalidProxyCode`` otherwise."""
        if not isinstance(code, str) or len(code) > 96:
            raise InvalidProxyCode()
        match = _CODE.match(code)
        if not match:
            raise InvalidProxyCode()
        kid, payload, tag = match.groups()
        key = self.keys.keys.get(kid)
        if key is None:
            raise InvalidProxyCode()
        message = code[: code.rindex(".")]
        expected = _b64(self._tag(kid, message))
        if not hmac.compare_digest(expected.encode(), tag.encode()):
            raise InvalidProxyCode()
        raw = _unb64(payload)
        if _b64(raw) != payload:  # non-canonical trailing bits; unreachable with a genuine tag
            raise InvalidProxyCode()
        order_id = "po_" + raw[:ORDER_ID_BYTES].hex()
        (expires_at,) = struct.unpack(">I", raw[ORDER_ID_BYTES:])
        if expires_at <= now:
            raise ProxyCodeExpired(order_id=order_id)
        return VerifiedCode(order_id=order_id, expires_at=expires_at, kid=kid)

    def _tag(self, kid: str, message: str) -> bytes:
        return hmac.new(self.keys.keys[kid], message.encode("ascii"), hashlib.sha256).digest()
