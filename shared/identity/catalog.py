"""Identity types are configuration (``identity_types.json``), not code.

Each type names its model, its threshold (the registry is asked only when
P(identity) >= threshold; the value comes from the model card), the fields a
user claims and their patterns, the registry key, the credential field the
uploaded document must carry, and how long a document-path tag stays valid.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.identity.errors import InvalidClaim, UnknownIdentityType

CATALOG_FILE = Path(__file__).with_name("identity_types.json")
TYPE_NAME = re.compile(r"^[a-z][a-z_]{1,31}$")


class IdentityType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    model: str
    threshold: float = Field(gt=0, lt=1)
    claimed_fields: dict[str, str]
    registry: str
    registry_key: list[str]
    credential_field: str
    document_validity_days: int = Field(gt=0)

    def validate_claimed(self, claimed: dict[str, Any]) -> dict[str, str]:
        """Exactly the configured fields, each a string matching its pattern (after trimming)."""
        missing = sorted(set(self.claimed_fields) - set(claimed))
        extra = sorted(set(claimed) - set(self.claimed_fields))
        if missing or extra:
            raise InvalidClaim(missing=missing, unexpected=extra)
        out: dict[str, str] = {}
        bad = []
        for name, pattern in self.claimed_fields.items():
            value = claimed[name]
            if not isinstance(value, str) or not re.fullmatch(pattern, value.strip()):
                bad.append(name)
            else:
                out[name] = value.strip()
        if bad:
            raise InvalidClaim(invalid=bad)
        return out


@lru_cache(maxsize=1)
def catalog() -> dict[str, IdentityType]:
    raw = json.loads(CATALOG_FILE.read_text())
    types = {name: IdentityType(name=name, **spec) for name, spec in raw.items()}
    for name, t in types.items():
        if not TYPE_NAME.match(name) or not set(t.registry_key) <= set(t.claimed_fields) \
                or t.credential_field not in t.claimed_fields:
            raise ValueError(f"identity type {name!r} is misconfigured")
    return types


def identity_type(name: str) -> IdentityType:
    try:
        return catalog()[name]
    except KeyError:
        raise UnknownIdentityType(identity_type=name[:40], supported=sorted(catalog())) from None
