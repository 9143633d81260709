"""Demo data of the local platform (never in a layer): registry records that the embedded identity registry
answers with, and the API document's examples that refer to them.

On AWS a registry is someone else's system (``HttpRegistry``) or a table filled by whoever owns it; locally
``make run`` and the tests fill ``IdentityRegistryTable`` with these records (``seed_registry``), in the shape
``shared.identity.adapters.TableRegistry`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from local_stack.realname_demo import DEMO_IDENTITIES
from shared.identity.adapters import registry_key
from shared.identity.catalog import catalog
from shared.identity.models import RegistryRecord

REGISTRY_TABLE = "IdentityRegistryTable"

SAMPLE_RECORDS = [
    RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2028, 7, 1),
                   fields={"name": "Li Hua", "school": "Peking University", "student_number": "PKU2024001",
                           # registries know whose record it is: §3 matches it to the verified real-name holder
                           "id_number": DEMO_IDENTITIES[5].id_number}),
    RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2027, 7, 1),
                   fields={"name": "Wang Fang", "school": "Fudan University", "student_number": "FD2023042"}),
    RegistryRecord(identity_type="student", status="INACTIVE", valid_until=date(2025, 7, 1),
                   fields={"name": "Zhang Wei", "school": "Zhejiang University", "student_number": "ZJU2019007"}),
    RegistryRecord(identity_type="teacher", status="ACTIVE", valid_until=date(2030, 1, 1),
                   fields={"name": "Chen Jing", "school": "Beijing No. 4 High School", "teacher_number": "T-88001"}),
]

DEMO_STUDENT = SAMPLE_RECORDS[0]

# The API document's request examples are the demo student, so that "Try it out" in the local Swagger UI
# follows the registry path. (component schema, property) -> examples; see local_stack/openapi.py.
OPENAPI_EXAMPLES: dict[tuple[str, str], list[Any]] = {
    ("StartVerificationRequest", "claimed"): [dict(DEMO_STUDENT.fields)],
    ("DocumentUploadRequest", "credential_number"): [DEMO_STUDENT.fields["student_number"]],
}


def seed_registry(client: Any, records: Iterable[RegistryRecord] = SAMPLE_RECORDS,
                  table: str = REGISTRY_TABLE) -> int:
    """Put ``records`` into the embedded registry table; returns how many."""
    types = catalog()
    count = 0
    for record in records:
        client.put_item(TableName=table, Item={
            "pk": {"S": registry_key(types[record.identity_type], record.fields)},
            "record": {"S": record.model_dump_json()}})
        count += 1
    return count
