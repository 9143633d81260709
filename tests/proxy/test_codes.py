"""The order code: sign/verify, and a fuzz of forged codes (none accepted, none reaches the database)."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.proxy.codes import CodeSigner, KeyRing
from shared.proxy.errors import InvalidProxyCode, ProxyCodeExpired

NOW = 1_795_392_000
KEY = b"k" * 48
RING = KeyRing(active="k1", keys={"k1": KEY, "k0": b"o" * 40})
SIGNER = CodeSigner(RING)
ALPHABET = string.ascii_letters + string.digits + "-_."


def order_id(rng: random.Random) -> str:
    return "po_" + rng.randbytes(16).hex()


def test_round_trip_and_shape() -> None:
    oid = "po_" + secrets.token_hex(16)
    code = SIGNER.sign(oid, NOW + 60)
    assert code.startswith("P1.k1.") and len(code) == 77 and code.isascii()
    verified = SIGNER.verify(code, NOW)
    assert (verified.order_id, verified.expires_at, verified.kid) == (oid, NOW + 60, "k1")
    assert SIGNER.sign(oid, NOW + 60) == code  # deterministic: the QR route re-creates it


def test_rotated_key_still_verifies_until_removed() -> None:
    oid = "po_" + secrets.token_hex(16)
    old = SIGNER.sign(oid, NOW + 60, kid="k0")
    assert SIGNER.verify(old, NOW).kid == "k0"
    with pytest.raises(InvalidProxyCode):
        CodeSigner(KeyRing(active="k1", keys={"k1": KEY})).verify(old, NOW)


def test_expired_code_is_refused_at_and_after_expiry() -> None:
    code = SIGNER.sign("po_" + "ab" * 16, NOW)
    with pytest.raises(ProxyCodeExpired):
        SIGNER.verify(code, NOW)
    assert SIGNER.verify(code, NOW - 1).expires_at == NOW


def test_key_ring_rejects_weak_configuration() -> None:
    with pytest.raises(ValueError):
        KeyRing(active="k1", keys={"k1": b"short"})
    with pytest.raises(ValueError):
        KeyRing(active="k2", keys={"k1": KEY})
    with pytest.raises(ValueError):
        KeyRing.from_mapping({"k1": "x" * 64})
    assert KeyRing.from_mapping({"active_kid": "k1", "k1": "x" * 64}).active == "k1"


# --- the fuzz ---------------------------------------------------------------------
def forged_codes(n: int, seed: int = 7, signer: CodeSigner = SIGNER, now: int = NOW) -> Iterator[tuple[str, str]]:
    """``n`` (kind, code) pairs, none of which may be accepted by ``signer`` at ``now``: mutated, truncated,
    extended, expired, re-signed with another key (same and unknown kid), spliced from two genuine codes,
    other versions. (Replayed genuine codes are refused by the service, not the signer: see
    ``test_service_unit.test_fuzz_forged_and_replayed_codes_none_accepted``.)"""
    rng = random.Random(seed)
    other_same_kid = CodeSigner(KeyRing(active="k1", keys={"k1": rng.randbytes(48)}))
    other_kid = CodeSigner(KeyRing(active="k9", keys={"k9": rng.randbytes(48)}))

    def mutate(code: str) -> str:
        chars = list(code)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            chars[i] = rng.choice([c for c in ALPHABET if c != chars[i]])
        return "".join(chars)

    makers: list[tuple[str, Callable[[str, str, int], str]]] = [
        ("mutated", lambda code, oid, exp: mutate(code)),
        ("truncated", lambda code, oid, exp: code[: rng.randrange(len(code))]),
        ("extended", lambda code, oid, exp: code + rng.choice(ALPHABET)),
        ("expired", lambda code, oid, exp: signer.sign(oid, now - rng.randint(0, 86_400))),
        ("re-signed", lambda code, oid, exp: other_same_kid.sign(oid, exp)),
        ("unknown-kid", lambda code, oid, exp: other_kid.sign(oid, exp)),
        ("kid-swapped", lambda code, oid, exp: code.replace("P1.k1.", "P1.k0.", 1)),
        ("spliced", lambda code, oid, exp: ".".join(
            [*code.split(".")[:3], signer.sign(order_id(rng), exp).split(".")[3]])),
        ("version", lambda code, oid, exp: "P2" + code[2:]),
        ("padded", lambda code, oid, exp: code + "="),
    ]
    for i in range(n):
        oid, exp = order_id(rng), now + rng.randint(1, 300)
        kind, make = makers[i % len(makers)]
        genuine = signer.sign(oid, exp)
        forged = make(genuine, oid, exp)
        if forged == genuine:
            continue
        yield kind, forged


def run_fuzz(n: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    for kind, code in forged_codes(n):
        seen[kind] = seen.get(kind, 0) + 1
        try:
            SIGNER.verify(code, NOW)
        except (InvalidProxyCode, ProxyCodeExpired):
            continue
        pytest.fail(f"accepted a {kind} code: {code}")
    return seen


def test_fuzz_2000_forged_codes_none_accepted() -> None:
    seen = run_fuzz(2_000)
    assert sum(seen.values()) >= 1_990 and len(seen) == 10


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=120), st.from_regex(r"P1\.[a-z0-9]{1,8}\.[A-Za-z0-9_-]{27}\.[A-Za-z0-9_-]{43}",
                                                        fullmatch=True)))
def test_arbitrary_strings_are_never_accepted(code: str) -> None:
    with pytest.raises((InvalidProxyCode, ProxyCodeExpired)):
        SIGNER.verify(code, NOW)


@pytest.mark.parametrize("value", [None, 12, b"P1.k1", ["P1"], "", "P1." + "A" * 200])
def test_non_strings_and_oversized_are_refused(value: object) -> None:
    with pytest.raises(InvalidProxyCode):
        SIGNER.verify(value, NOW)
