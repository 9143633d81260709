"""Demo data for `make run`: a few users with accounts, balances, sign-ins and transfers, all created through the
API itself. Their activity profiles (risk signals) come from the same sign-in route and the ledger stream projector
that serve every user; nothing writes a profile directly."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from local_stack import tokens

DEMO_USERS = {"alice": 100_000, "bob": 50_000, "carol": 20_000}  # balances in fen
ADMIN = "admin"
ANDROID = {"os": "Android 14", "app_version": "3.2.1"}
# (user, device, network, place): alice on a phone and a laptop in Shanghai, bob and carol in Beijing
DEMO_SIGN_INS = [("alice", "demo-alice-phone", "WIFI", (31.2304, 121.4737)),
                 ("alice", "demo-alice-laptop", "WIFI", (31.2304, 121.4737)),
                 ("alice", "demo-alice-phone", "CELLULAR", (31.1443, 121.8083)),
                 ("bob", "demo-bob-phone", "CELLULAR", (39.9042, 116.4074)),
                 ("carol", "demo-carol-phone", "WIFI", (39.9996, 116.3264))]
# alice ends where she started (100.00 CNY): what she sends equals what she receives
DEMO_TRANSFERS = [("alice", "bob", 1_250), ("alice", "carol", 860), ("alice", "carol", 2_300),
                  ("bob", "alice", 4_500), ("carol", "alice", 1_000), ("alice", "bob", 1_090)]


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
    """Data that on AWS comes from elsewhere (registries), written to the local tables."""
    from local_stack.demo_data import DEMO_STUDENT, seed_registry

    ddb = stack.client("dynamodb")
    count = seed_registry(ddb)
    student = ", ".join(DEMO_STUDENT.fields.values())
    notes = [f"identity registry: {count} sample records (e.g. student {student})",
             "activity: demo sign-ins and transfers made through the API; profiles projected from them "
             "(GET /me/activity-profile)"]
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
        _call(base, "POST", "/accounts", token, {}, key=f"seed-register-{user}")
        account = _call(base, "GET", "/accounts/me", token)
        if account["balance"]["amount"] == 0:
            _call(base, "POST", f"/admin/accounts/{account['account_id']}/deposits", admin,
                  {"amount": {"amount": balance, "currency": "CNY"}, "note": "demo funds"}, key=f"seed-{user}")
            account = _call(base, "GET", "/accounts/me", token)
        out[user] = {"token": token, "account": account}
    for i, (user, device, network, (lat, lon)) in enumerate(DEMO_SIGN_INS):
        _call(base, "POST", "/sessions", out[user]["token"], {"device_id": device, "network": network,
                                                             "client": ANDROID, "geo": {"lat": lat, "lon": lon}},
              key=f"seed-session-{i}")
    for i, (source, target, amount) in enumerate(DEMO_TRANSFERS):
        _call(base, "POST", "/transfers", out[source]["token"],
              {"to_account_id": out[target]["account"]["account_id"], "amount": {"amount": amount, "currency": "CNY"},
               "note": "demo"}, key=f"seed-transfer-{i}")
    from local_stack.realname_demo import DEMO_PHONE, DEMO_USER

    token = tokens.issue(DEMO_USER, phone_number=DEMO_PHONE)  # real-name demo: an account recording the phone
    _call(base, "POST", "/accounts", token, {}, key=f"seed-register-{DEMO_USER}")
    out[DEMO_USER] = {"token": token, "account": _call(base, "GET", "/accounts/me", token)}
    out[ADMIN] = {"token": admin, "account": None}
    return out
