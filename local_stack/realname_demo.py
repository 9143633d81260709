"""LOCAL ONLY demo data of real-name authentication (never in a layer): the embedded authoritative
identity-photo store seeded from real face photos that ship in PyPI packages (``training/face_data.py``), with
synthetic names, synthetic ID numbers that pass the GB 11643 checksum, and the phone numbers they are linked
to; and the demo user whose phone is linked to one of them.

Shape (what ``shared.realname.adapters.TableIdentityAuthority`` reads): ``IDENTITY#<ref>`` {name, id_number,
photo}, ``PHONE#<e164>`` {refs}, ``IDNUMBER#<id number>`` {ref}.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.identity_numbers import id_check_character

AUTHORITY_TABLE = "IdentityAuthorityTable"


def id_number(region: str, born: str, sequence: str) -> str:
    """A synthetic resident ID number with a valid GB 11643 check character."""
    first17 = f"{region}{born}{sequence}"
    return first17 + id_check_character(first17)


@dataclass(frozen=True)
class DemoIdentity:
    ref: str
    photo: str  # a name of training.face_data.PHOTOS
    name: str
    id_number: str
    phones: tuple[str, ...]


DEMO_PHONE = "+8613800138000"  # the demo user's phone: one family phone linked to three identities
OTHER_PHONE = "+8613900139000"
DEMO_IDENTITIES = (
    DemoIdentity("auth-0001", "obama", "Zhao Lei", id_number("110101", "19780804", "001"), (DEMO_PHONE,)),
    DemoIdentity("auth-0002", "biden", "Zhao Jun", id_number("110101", "19521120", "003"), (DEMO_PHONE,)),
    DemoIdentity("auth-0003", "sunak", "Zhao Hao", id_number("110101", "19800512", "005"), (DEMO_PHONE,)),
    DemoIdentity("auth-0004", "grace_hopper", "Qian Min", id_number("310101", "19061209", "002"), (OTHER_PHONE,)),
    DemoIdentity("auth-0005", "macron_2025", "Sun Gang", id_number("440301", "19771221", "007"), (OTHER_PHONE,)),
    DemoIdentity("auth-0006", "ardern_2022", "Li Hua", id_number("110108", "20040726", "004"), ()),
)
DEMO_IDENTITY = DEMO_IDENTITIES[0]
DEMO_USER = "mei"


def _photo_bytes(data: bytes, max_side: int = 800) -> bytes:
    """Re-encoded as a JPEG of at most ``max_side`` pixels (an authority's ID photo; fits a DynamoDB item)."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def seed_authority(client: Any, photos: Mapping[str, bytes], identities: Iterable[DemoIdentity] = DEMO_IDENTITIES,
                   table: str = AUTHORITY_TABLE) -> int:
    phones: dict[str, list[str]] = {}
    count = 0
    for ident in identities:
        client.put_item(TableName=table, Item={
            "pk": {"S": f"IDENTITY#{ident.ref}"}, "name": {"S": ident.name}, "id_number": {"S": ident.id_number},
            "photo": {"B": _photo_bytes(photos[ident.photo])}})
        client.put_item(TableName=table, Item={"pk": {"S": f"IDNUMBER#{ident.id_number}"}, "ref": {"S": ident.ref}})
        for phone in ident.phones:
            phones.setdefault(phone, []).append(ident.ref)
        count += 1
    for phone, refs in phones.items():
        client.put_item(TableName=table, Item={"pk": {"S": f"PHONE#{phone}"},
                                               "refs": {"L": [{"S": r} for r in refs]}})
    return count


def load_photos() -> dict[str, bytes]:
    """The package photos (fetched with pip at pinned versions and checksum-verified on first use)."""
    from training.face_data import ensure_photos

    return {name: path.read_bytes() for name, path in ensure_photos().items()}


def seed_real_name(client: Any, secrets_client: Any, user_id: str, identity: DemoIdentity,
                   table: str = "RealNameTable",
                   secret_id: str = "PersonalDataHashKeySecret") -> None:  # noqa: S107 - a secret's name
    """Record ``user_id`` as real-name verified as ``identity`` directly (what a VERIFIED session writes: keyed
    hashes and masked forms), for demo users and §3 tests that need a verified account holder."""
    from datetime import UTC, datetime

    from shared.crypto import KeyedHasher
    from shared.identity_numbers import mask_id_number
    from shared.realname.models import VerifiedIdentity
    from shared.realname.repository import DynamoRealNameStore
    from shared.realname.services.directory import RealNameDirectory, mask_name

    key = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"]
    directory = RealNameDirectory(records=None, hasher=KeyedHasher(key=str(key).encode()))  # type: ignore[arg-type]
    record = VerifiedIdentity(user_id=user_id, id_hash=directory.id_hash(identity.id_number),
                              name_hash=directory.name_hash(identity.name), masked_name=mask_name(identity.name),
                              masked_id_number=mask_id_number(identity.id_number), verified_at=datetime.now(UTC),
                              session_id="seeded", method="SEEDED", policy_version="seeded")
    DynamoRealNameStore(table, client).put_record(record, sealed_id_number="")
