"""What other capabilities read of real-name status (CONTRACTS.md: §3 registry check, §6 binding):

``RealNameDirectory.verified(user_id) -> VerifiedIdentity | None``
    The account's verified real-name identity: keyed hashes of the ID number and the normalised name (for
    comparison, never reversible), masked forms for display, when, how and under which policy version.
``RealNameDirectory.verified_id_hash(user_id) -> str | None``
``RealNameDirectory.id_hash(id_number) / name_hash(name) -> str``
    The same keyed hashes of a value another capability holds (e.g. a registry record's ID number), to
    compare with the verified identity.
"""

from __future__ import annotations

from shared.crypto import ID_NUMBER, NAME, canonical_id_number, canonical_name
from shared.identity_numbers import mask_id_number
from shared.realname.models import VerifiedIdentity
from shared.realname.ports import Hasher, RealNameRecords

normalize_name = canonical_name  # NFKC, case-folded, inner whitespace collapsed: "Wang  Wu" == "wang wu"


def mask_name(name: str) -> str:
    """First character kept, the rest masked per character: "Wang Wu" -> "W******"; "张三" -> "张*"."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


__all__ = ["RealNameDirectory", "mask_id_number", "mask_name", "normalize_name"]


class RealNameDirectory:
    def __init__(self, records: RealNameRecords, hasher: Hasher) -> None:
        self.records = records
        self.hasher = hasher

    def id_hash(self, id_number: str) -> str:
        """The platform's ID-number hash (``shared.crypto``: the same key and form as §3 and §6)."""
        return self.hasher.hash(ID_NUMBER, canonical_id_number(id_number))

    def name_hash(self, name: str) -> str:
        return self.hasher.hash(NAME, canonical_name(name))

    def verified(self, user_id: str) -> VerifiedIdentity | None:
        return self.records.get(user_id)

    def verified_hashes(self, user_id: str) -> tuple[str, str] | None:
        record = self.records.get(user_id)
        return (record.id_hash, record.name_hash) if record else None

    def verified_id_hash(self, user_id: str) -> str | None:
        record = self.records.get(user_id)
        return record.id_hash if record else None
