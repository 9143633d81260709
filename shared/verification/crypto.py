"""Secrets of the challenges: one-time codes, tokens, ids and payment-password hashing (standard library only).

* Codes: 6 digits from ``secrets`` (CSPRNG); stored only as an HMAC under the verification key, bound to the
  verification (its id is part of the hashed value), compared in constant time.
* Tokens: 256 random bits (``secrets.token_urlsafe(32)``), stored only keyed-hashed.
* Passwords: ``hashlib.scrypt`` with a per-user 16-byte salt and the policy's cost parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

OTP_DIGITS = 6
TOKEN_PREFIX = "vt_"  # noqa: S105 - a prefix, not a secret
SALT_BYTES = 16
SCRYPT_DKLEN = 32


def new_otp() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def otp_material(scope: str, code: str) -> str:
    """What is hashed for a code: bound to its verification (or phone change), not only the digits."""
    return f"{scope}:{code}"


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def scrypt_hash(password: str, salt_hex: str, n: int, r: int, p: int) -> str:
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=n, r=r, p=p,
                            maxmem=256 * 1024 * 1024, dklen=SCRYPT_DKLEN)
    return digest.hex()
