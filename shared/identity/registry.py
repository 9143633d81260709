"""The identity data query interface: authoritative registries behind one small interface.

* ``TableRegistry`` — the embedded default: a DynamoDB table standing for an
  education registry, seeded with sample records (``SAMPLE_RECORDS``).
* ``HttpRegistry`` — an adapter for a real registry over HTTPS: short
  timeouts, bounded retries with back-off on timeouts/5xx, and the response
  validated like user input (anything unexpected is "unavailable", never a match).

Both raise :class:`RegistryUnavailable` when the registry cannot answer; the
state machine retries that error with back-off, then falls through to the
document path. Only the registry key fields are sent (data minimisation); the
name is compared here, never sent.

Match rules (:func:`match`), all must hold:
1. the registry has a record under the claimed key (school + student number);
2. the record is ``ACTIVE`` (enrolled / employed);
3. the claimed name equals the record's name after normalisation (Unicode
   NFKC, case-folded, whitespace collapsed), and so does every key field;
4. the record's ``valid_until`` (e.g. expected graduation) is after today.
The tag's validity is the record's ``valid_until``.
"""

from __future__ import annotations

import json
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shared import aws
from shared.identity.catalog import IdentityType

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RegistryUnavailable(Exception):  # the class name is the error name the state machine retries
    """The registry did not answer usably (timeout, 5xx, malformed answer); safe to retry."""


class RegistryRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    identity_type: Text
    fields: dict[Text, Text]
    status: Literal["ACTIVE", "INACTIVE"]
    valid_until: date


class MatchResult(BaseModel):
    matched: bool
    reasons: list[str]
    valid_until: date | None = None


class Registry(Protocol):
    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None: ...


def normalize(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def registry_key(identity_type: IdentityType, claimed: dict[str, str]) -> str:
    parts = [normalize(claimed[f]) for f in identity_type.registry_key]
    return "#".join([identity_type.registry, identity_type.name, *parts])


def match(identity_type: IdentityType, claimed: dict[str, str], record: RegistryRecord | None,
          today: date) -> MatchResult:
    if record is None:
        return MatchResult(matched=False, reasons=["REGISTRY_NO_RECORD"])
    reasons = []
    if record.status != "ACTIVE":
        reasons.append("REGISTRY_RECORD_INACTIVE")
    for name in ("name", *identity_type.registry_key):
        if name in claimed and normalize(record.fields.get(name, "")) != normalize(claimed[name]):
            reasons.append(f"REGISTRY_MISMATCH_{name.upper()}")
    if record.valid_until <= today:
        reasons.append("REGISTRY_RECORD_EXPIRED")
    if reasons:
        return MatchResult(matched=False, reasons=reasons)
    return MatchResult(matched=True, reasons=["REGISTRY_MATCH"], valid_until=record.valid_until)


class TableRegistry:
    """The embedded registry: ``pk = <registry>#<type>#<normalised key fields>``."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self.client = client or aws.dynamodb()

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.client.get_item(TableName=self.table,
                                        Key={"pk": {"S": registry_key(identity_type, claimed)}})
        except (ClientError, BotoCoreError) as exc:
            raise RegistryUnavailable(type(exc).__name__) from exc
        item = resp.get("Item")
        if not item:
            return None
        try:
            return RegistryRecord.model_validate_json(item["record"]["S"])
        except (KeyError, ValidationError) as exc:
            raise RegistryUnavailable("malformed registry record") from exc

    def seed(self, identity_types: dict[str, IdentityType], records: Iterable[RegistryRecord]) -> int:
        count = 0
        for record in records:
            t = identity_types[record.identity_type]
            self.client.put_item(TableName=self.table, Item={
                "pk": {"S": registry_key(t, record.fields)}, "record": {"S": record.model_dump_json()}})
            count += 1
        return count


class HttpRegistry:
    """``POST {base_url}/v1/lookup {"registry", "identity_type", "key": {...}}`` -> 200 record | 404."""

    def __init__(self, base_url: str, timeout: float = 2.0, attempts: int = 2, backoff: float = 0.2) -> None:
        if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("registry URL must be https (or loopback for local tests)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff

    def lookup(self, identity_type: IdentityType, claimed: dict[str, str]) -> RegistryRecord | None:
        body = json.dumps({"registry": identity_type.registry, "identity_type": identity_type.name,
                           "key": {f: claimed[f] for f in identity_type.registry_key}}).encode()
        last = "no attempt"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(f"{self.base_url}/v1/lookup", data=body, method="POST",  # noqa: S310
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 - checked scheme
                    raw = resp.read(64 * 1024 + 1)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                last = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break  # our request is wrong: retrying will not help
                continue
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                last = type(exc).__name__
                continue
            return self._parse(raw, identity_type)
        raise RegistryUnavailable(last)

    @staticmethod
    def _parse(raw: bytes, identity_type: IdentityType) -> RegistryRecord:
        if len(raw) > 64 * 1024:
            raise RegistryUnavailable("registry answer too large")
        try:
            record = RegistryRecord.model_validate_json(raw)
        except ValidationError as exc:
            raise RegistryUnavailable("malformed registry answer") from exc
        if record.identity_type != identity_type.name:
            raise RegistryUnavailable("registry answered for another identity type")
        return record


SAMPLE_RECORDS = [
    RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2028, 7, 1),
                   fields={"name": "Li Hua", "school": "Peking University", "student_number": "PKU2024001"}),
    RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2027, 7, 1),
                   fields={"name": "Wang Fang", "school": "Fudan University", "student_number": "FD2023042"}),
    RegistryRecord(identity_type="student", status="INACTIVE", valid_until=date(2025, 7, 1),
                   fields={"name": "Zhang Wei", "school": "Zhejiang University", "student_number": "ZJU2019007"}),
    RegistryRecord(identity_type="teacher", status="ACTIVE", valid_until=date(2030, 1, 1),
                   fields={"name": "Chen Jing", "school": "Beijing No. 4 High School", "teacher_number": "T-88001"}),
]
