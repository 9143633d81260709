"""Card helpers: the card-token fingerprint and masked card numbers (no card number ever reaches this code)."""

from __future__ import annotations

from shared.binding.ports import Hasher
from shared.crypto import CARD_TOKEN


def card_fingerprint(hasher: Hasher, partner_id: str, token: str) -> str:
    """Keyed hash of the bank's card token, per bank: equal tokens of one bank are the same card."""
    return hasher.keyed_hash(CARD_TOKEN, f"{partner_id}\x1f{token}")


def masked_card(last4: str) -> str:
    return f"**** {last4}"


def mask_name(name: str) -> str:
    """``Ann Lee`` -> ``A** L**``; ``李华`` -> ``李*``."""
    parts = name.split()
    if len(parts) > 1:
        return " ".join(p[0] + "*" * (len(p) - 1) for p in parts)
    return name[0] + "*" * max(1, len(name) - 1)
