"""Demo data for `make run`: a few users with accounts and balances, created through the API itself."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from local_stack import tokens

DEMO_USERS = {"alice": 100_000, "bob": 50_000, "carol": 20_000}  # balances in fen
ADMIN = "admin"


def _call(base: str, method: str, path: str, token: str, body: Any = None, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        if exc.code == 409:  # already registered: seeding twice is fine
            return None
        raise


def seed_reference_data(stack: Any) -> list[str]:
    """Data that on AWS comes from elsewhere (registries, activity profiles), written to the local tables."""
    from local_stack.demo_data import DEMO_STUDENT, seed_registry
    from local_stack.template import ROOT
    from shared.identity.features import ActivityProfile
    from shared.identity.repository import DynamoIdentityStore

    def load_event(name: str) -> Any:  # the demo profiles are the sample events' profiles
        return json.loads((ROOT / "events" / f"{name}.json").read_text())

    notes = []
    ddb = stack.client("dynamodb")
    count = seed_registry(ddb)
    student = ", ".join(DEMO_STUDENT.fields.values())
    notes.append(f"identity registry: {count} sample records (e.g. student {student})")
    store = DynamoIdentityStore("IdentityTable", ddb)
    store.put_profile("alice", ActivityProfile.model_validate(load_event("identity/profile_student")))
    store.put_profile("bob", ActivityProfile.model_validate(load_event("identity/profile_worker")))
    notes.append("activity profiles: alice looks like a student (registry path), bob does not (document path)")
    from local_stack.realname_demo import (
        DEMO_IDENTITIES,
        DEMO_IDENTITY,
        DEMO_PHONE,
        DEMO_USER,
        load_photos,
        seed_authority,
        seed_real_name,
    )

    count = seed_authority(ddb, load_photos(), table=stack.template.physical_name("IdentityAuthorityTable"))
    notes.append(f"identity-photo authority: {count} synthetic identities from package photos; {DEMO_USER}'s phone "
                 f"{DEMO_PHONE} is linked to {DEMO_IDENTITY.name} (photo '{DEMO_IDENTITY.photo}')")
    seed_real_name(ddb, stack.client("secretsmanager"), "alice", DEMO_IDENTITIES[5])
    notes.append("alice is real-name verified as the registry's Li Hua (so §3's registry path applies to her)")
    return notes


def seed(base: str) -> dict[str, dict[str, Any]]:
    admin = tokens.issue(ADMIN, ["admin"])
    out: dict[str, dict[str, Any]] = {}
    for user, balance in DEMO_USERS.items():
        token = tokens.issue(user)
        _call(base, "POST", "/accounts", token, {})
        account = _call(base, "GET", "/accounts/me", token)
        if account["balance"]["amount"] == 0:
            _call(base, "POST", f"/admin/accounts/{account['account_id']}/deposits", admin,
                  {"amount": {"amount": balance, "currency": "CNY"}, "note": "demo funds"}, key=f"seed-{user}")
            account = _call(base, "GET", "/accounts/me", token)
        out[user] = {"token": token, "account": account}
    from local_stack.realname_demo import DEMO_PHONE, DEMO_USER

    token = tokens.issue(DEMO_USER, phone_number=DEMO_PHONE)  # real-name demo: an account recording the phone
    _call(base, "POST", "/accounts", token, {})
    out[DEMO_USER] = {"token": token, "account": _call(base, "GET", "/accounts/me", token)}
    out[ADMIN] = {"token": admin, "account": None}
    return out
