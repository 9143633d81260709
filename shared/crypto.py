"""Field-level protection of personal data: KMS envelope encryption and keyed hashes.

* ``EnvelopeCipher``: envelope encryption under a KMS key declared in template.yaml. A container asks KMS for
  one AES-256 data key (``GenerateDataKey``) and reuses it for ``max_uses`` encryptions or ``max_age`` seconds,
  whichever comes first; each value is sealed with AES-256-GCM (a fresh 96-bit nonce, the value's *context*
  as associated data, so a ciphertext moved to another record or purpose does not decrypt). The data key's
  KMS-encrypted blob travels with the value. Decrypted data keys are cached per container by blob (bounded),
  so decrypting N stored values costs one ``Decrypt`` per distinct data key, not one per value: a 1:N search
  over embeddings written by a few containers pays a handful of KMS calls at most, then only AES-GCM.
  (The AWS Encryption SDK is not in the layer; ``cryptography``'s AESGCM is, and this is the same scheme
  without its message format.) Ciphertext format: ``v1.<b64 blob>.<b64 nonce||sealed>``.
* Challenge secrets (§4, standard library only): ``new_otp`` (6 digits from ``secrets``, a CSPRNG),
  ``new_token`` (256 random bits), ``equal`` (constant-time comparison), ``new_salt``/``scrypt_hash`` (payment
  passwords: ``hashlib.scrypt`` with a per-user salt). Codes and tokens are stored only as ``KeyedHasher``
  hashes under the purposes ``OTP`` / ``VERIFICATION_TOKEN``.
* ``KeyedHasher``: HMAC-SHA256 under a key kept in Secrets Manager (fetched with Powertools Parameters,
  cached per container for ``max_age`` seconds): look-up keys for ID numbers, names, credentials and card
  tokens, never reversible without the key. ``purpose`` separates the hash spaces (an ID-number hash never
  equals a name hash): ``HMAC(key, purpose || 0x1F || value)``.

**The platform's personal-data crypto** (docs/architecture.md, "Personal data"): one KMS key
(``PersonalDataKey``) and one hash key (``PersonalDataHashKeySecret``), declared once in template.yaml, serve
every capability. §3 (credential index), §5 (real-name identities) and §6 (bank binding) hash with the same key
and the same canonical forms, so an ID-number hash made by one equals the other's (``IDENTITY_MISMATCH``
compares them). Canonical forms: ``id_number_hash`` (stripped, upper-case: the GB 11643 check character ``X``)
and ``name_hash`` (NFKC, case-folded, inner whitespace collapsed). ``hasher(secret_id)`` and
``cipher(key_id, purpose)`` return the container's one instance for a secret / key and purpose.

Nothing here logs a plaintext, a key or a ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.aws import LazyClient

VERSION = "v1"
_DECRYPTED_KEYS_CACHED = 256
MIN_HASH_KEY_LENGTH = 32

# Hash purposes (one key, separate spaces). Values another capability compares must use the same purpose and
# canonical form: ``KeyedHasher.id_number_hash`` / ``name_hash`` do both.
ID_NUMBER = "id-number"
NAME = "name"
CREDENTIAL = "credential"  # §3: a credential's registry, type and key fields
CARD_TOKEN = "card-token"  # noqa: S105 - §6: a bank's card token (the purpose's name, not a secret)
OTP = "otp"  # §4: a one-time code, bound to its verification or phone change (``otp_material``)
PHONE_OTP = "phone-otp"  # §4: the code sent to a new phone number before it replaces the old one
VERIFICATION_TOKEN = "token"  # noqa: S105 - §4: a verification token (the purpose's name, not a secret)

OTP_DIGITS = 6
TOKEN_PREFIX = "vt_"  # noqa: S105 - a prefix, not a secret
SALT_BYTES = 16
SCRYPT_DKLEN = 32


class CryptoError(RuntimeError):
    """A stored ciphertext does not decrypt (tampered, another context, another key): a server-side problem."""


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


class EnvelopeCipher:
    """AES-256-GCM per value under a KMS data key reused per container (see the module docstring)."""

    client = LazyClient("kms")

    def __init__(self, key_id: str, purpose: str, *, max_uses: int = 100_000, max_age: float = 3600.0,
                 client: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.key_id = key_id
        self.kms_context = {"purpose": purpose}
        self.max_uses = max_uses
        self.max_age = max_age
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._current: tuple[bytes, bytes, float] | None = None  # (plaintext key, blob, created)
        self._uses = 0
        self._plain: OrderedDict[bytes, AESGCM] = OrderedDict()  # blob -> cipher of the decrypted data key
        self.kms_calls = 0  # GenerateDataKey + Decrypt made by this instance (benchmarks, tests)

    # --- data keys --------------------------------------------------------------------------------------
    def _data_key(self) -> tuple[AESGCM, bytes]:
        with self._lock:
            now = self.clock()
            if self._current is None or self._uses >= self.max_uses or now - self._current[2] > self.max_age:
                resp = self.client.generate_data_key(KeyId=self.key_id, KeySpec="AES_256",
                                                     EncryptionContext=self.kms_context)
                self.kms_calls += 1
                self._current = (resp["Plaintext"], resp["CiphertextBlob"], now)
                self._uses = 0
                self._remember(resp["CiphertextBlob"], resp["Plaintext"])
            self._uses += 1
            return self._plain[self._current[1]], self._current[1]

    def _remember(self, blob: bytes, key: bytes) -> None:
        self._plain[blob] = AESGCM(key)
        self._plain.move_to_end(blob)
        while len(self._plain) > _DECRYPTED_KEYS_CACHED:
            self._plain.popitem(last=False)

    def _key_for(self, blob: bytes) -> AESGCM:
        with self._lock:
            cipher = self._plain.get(blob)
            if cipher is None:
                key = self.client.decrypt(CiphertextBlob=blob, KeyId=self.key_id,
                                          EncryptionContext=self.kms_context)["Plaintext"]
                self.kms_calls += 1
                self._remember(blob, key)
                cipher = self._plain[blob]
            return cipher

    # --- values -----------------------------------------------------------------------------------------
    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> str:
        cipher, blob = self._data_key()
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, plaintext, _aad(context))
        return ".".join((VERSION, base64.b64encode(blob).decode(), base64.b64encode(nonce + sealed).decode()))

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> bytes:
        try:
            version, blob64, sealed64 = ciphertext.split(".")
            if version != VERSION:
                raise ValueError("unknown ciphertext version")
            blob, sealed = base64.b64decode(blob64, validate=True), base64.b64decode(sealed64, validate=True)
            return self._key_for(blob).decrypt(sealed[:12], sealed[12:], _aad(context))
        except (ValueError, InvalidTag) as exc:
            raise CryptoError("a stored value does not decrypt") from exc


class KeyUnavailable(RuntimeError):
    """No usable hash key (secret missing or shorter than 32 characters): a deployment error."""


def canonical_id_number(id_number: str) -> str:
    return id_number.strip().upper()


def canonical_name(name: str) -> str:
    """NFKC, case-folded, inner whitespace collapsed: "Wang  Wu" == "wang wu"."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class KeyedHasher:
    """HMAC-SHA256 under a secret from Secrets Manager (or a fixed key given directly, for tests/tools)."""

    def __init__(self, secret_id: str = "", *, max_age: int = 300, key: bytes | None = None) -> None:
        if not secret_id and key is None:
            raise ValueError("a KeyedHasher needs a secret id or a key")
        self.secret_id = secret_id
        self.max_age = max_age
        self._fixed = key

    def _key(self) -> bytes:
        if self._fixed is not None:
            return self._fixed
        from aws_lambda_powertools.utilities import parameters

        value: Any = parameters.get_secret(self.secret_id, max_age=self.max_age)
        key = str(value).encode()
        if len(key) < MIN_HASH_KEY_LENGTH:
            raise KeyUnavailable(f"the hash key secret is shorter than {MIN_HASH_KEY_LENGTH} characters")
        return key

    def hash(self, purpose: str, value: str) -> str:
        """``HMAC-SHA256(key, purpose || 0x1F || value)``, hex."""
        return hmac.new(self._key(), f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()

    keyed_hash = hash  # the name bank binding's port uses

    def id_number_hash(self, id_number: str) -> str:
        return self.hash(ID_NUMBER, canonical_id_number(id_number))

    def name_hash(self, name: str) -> str:
        return self.hash(NAME, canonical_name(name))


@cache
def hasher(secret_id: str, max_age: int = 300) -> KeyedHasher:
    """The container's one hasher over ``secret_id`` (``PERSONAL_DATA_HASH_SECRET_ID``)."""
    if not secret_id:
        raise KeyUnavailable("no hash key secret configured (PERSONAL_DATA_HASH_SECRET_ID)")
    return KeyedHasher(secret_id, max_age=max_age)


@cache
def cipher(key_id: str, purpose: str, max_uses: int = 100_000, max_age: float = 3600.0) -> EnvelopeCipher:
    """The container's one envelope cipher for a KMS key (``PersonalDataKey``) and purpose (the KMS context)."""
    return EnvelopeCipher(key_id, purpose, max_uses=max_uses, max_age=max_age)


# --- challenge secrets (§4) ------------------------------------------------------------------------------
def new_otp() -> str:
    """A one-time code: ``OTP_DIGITS`` digits from the CSPRNG."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def new_token() -> str:
    """A bearer token of 256 random bits (stored only keyed-hashed)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def equal(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes or codes."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def scrypt_hash(password: str, salt_hex: str, n: int, r: int, p: int) -> str:
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=n, r=r, p=p,
                            maxmem=256 * 1024 * 1024, dklen=SCRYPT_DKLEN)
    return digest.hex()
