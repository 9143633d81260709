"""Writing the verification policy document (``shared/verification/policy.json``) from the training scripts.

The document is written complete (every default materialised, so the file is the whole policy a reader sees)
and versioned by its content: ``version`` is ``p-`` + the first 12 hex digits of the SHA-256 of the canonical
JSON of everything else, so any change of a rule or threshold is a new version that decisions record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from shared.verification.policy import Policy

POLICY = Path(__file__).resolve().parent.parent / "shared" / "verification" / "policy.json"


def content_version(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "p-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def read_policy(path: Path = POLICY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_policy(doc: dict[str, Any], path: Path = POLICY) -> Policy:
    """Validate, materialise the defaults, stamp the content version and write; returns the policy."""
    doc = {**doc, "version": doc.get("version") or "draft"}
    full = Policy.model_validate(doc).model_dump(mode="json")
    full["version"] = content_version(full)
    policy = Policy.model_validate(full)
    path.write_text(json.dumps(full, indent=2) + "\n")
    return policy
