"""Real-name risk, trust and candidates from the real signals store, end to end: the history is made through the
API (``POST /sessions`` sign-ins, transfers projected by the ledger stream), the real-name attempts through
``POST /real-name/sessions``; nothing is written into the signals table directly."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_stack import LocalStack
from local_stack.realname_demo import DEMO_IDENTITIES, DEMO_PHONE, OTHER_PHONE
from tests.conftest import Api, Reply, User
from tests.realname.conftest import FaceClient, register_with_phone

pytestmark = pytest.mark.usefixtures("authority")
ANDROID = {"os": "Android 14", "app_version": "3.2.1"}
SHANGHAI = {"lat": 31.2304, "lon": 121.4737}
BEIJING = {"lat": 39.9042, "lon": 116.4074}
POLICY = json.loads((Path(__file__).parents[2] / "shared/realname/policy.json").read_text())
CREATE = "CreateRealNameSessionFunction"
ZHAO_LEI = DEMO_IDENTITIES[0]


def person(api: Api, phone: str | None, balance: int = 0) -> User:
    sub = f"rn-{uuid.uuid4().hex[:8]}"
    token = register_with_phone(api, sub, phone)
    account_id = api.call("GET", "/accounts/me", token=token).body["account_id"]
    if balance:
        api.deposit(account_id, balance)
    return User(sub, token, account_id)


def sign_in(api: Api, user: User, device: str, **extra: Any) -> None:
    body = {"device_id": device, "network": "WIFI", "client": ANDROID, **extra}
    reply = api.call("POST", "/sessions", body, token=user.token, key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body


def transfer(api: Api, source: User, target: User, amount: int) -> None:
    reply = api.call("POST", "/transfers", {"to_account_id": target.account_id,
                                            "amount": {"amount": amount, "currency": "CNY"}},
                     token=source.token, key=str(uuid.uuid4()))
    assert reply.status == 201, reply.body


def start(api: Api, faces: FaceClient, user: User, photo: str, device: str, **context: Any) -> Reply:
    body = {**faces.live_proof(user.token, photo), "context": {"device_id": device, "network": "WIFI", **context}}
    reply = api.call("POST", "/real-name/sessions", body, token=user.token, key=str(uuid.uuid4()))
    assert reply.status == 201 and reply.body["status"] != "REJECTED", (body["liveness"]["challenge_id"],
                                                                        reply.body["reasons"], reply.body)
    return reply


@pytest.fixture
def policy(clean_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Deploy another policy document to the session function (as an AppConfig deployment would)."""
    def deploy(**changes: dict[str, Any] | str) -> None:
        doc = {**POLICY, "version": "test-" + uuid.uuid4().hex[:6]}
        for part, value in changes.items():
            doc[part] = {**doc[part], **value} if isinstance(value, dict) else value
        path = tmp_path / f"{doc['version']}.json"
        path.write_text(json.dumps(doc))
        monkeypatch.setitem(clean_stack.registry.specs[CREATE].environment, "REALNAME_POLICY_FILE", str(path))
    return deploy


def test_devices_flagged_at_sign_in_or_shared_by_many_accounts_are_abnormal(api: Api, faces: FaceClient) -> None:
    # an emulator, as the app reported it at sign-in (POST /sessions)
    emu = person(api, DEMO_PHONE)
    sign_in(api, emu, "emulator-device-1", client={**ANDROID, "emulator": True})
    body = start(api, faces, emu, "obama", "emulator-device-1").body
    assert "RISK_ABNORMAL_DEVICE_EMULATOR" in body["reasons"] and "POLICY_ANY_RISK_FAILS_FAIL" in body["reasons"]
    assert body["status"] == "AWAITING_IDENTITY" and body["proposed_identity"] is None
    assert body["required_fields"] == ["ID_NUMBER"]
    # one device, four accounts: two signed in on it, a third tried real-name on it (counted), then a fourth
    shared = "shared-device-7"
    for user in (person(api, None), person(api, None)):
        sign_in(api, user, shared)
    third = start(api, faces, person(api, None), "obama", shared).body
    assert not any(r.startswith("RISK_ABNORMAL_DEVICE") for r in third["reasons"])  # 3 accounts: the limit
    fourth = start(api, faces, person(api, None), "obama", shared).body
    assert "RISK_ABNORMAL_DEVICE_MANY_ACCOUNTS" in fourth["reasons"] and fourth["status"] == "AWAITING_IDENTITY"


def test_a_watch_listed_user_types_name_and_id_number(api: Api, faces: FaceClient) -> None:
    user = person(api, DEMO_PHONE)
    admin = api.token("risk-ops", "admin")
    tagged = api.call("PUT", f"/admin/users/{user.sub}/tags/GREY", {"reason": "chargebacks"}, token=admin)
    assert tagged.status == 200, tagged.body
    body = start(api, faces, user, "obama", "tagged-device-1").body
    assert "RISK_TAGGED_USER_GREY" in body["reasons"] and body["required_fields"] == ["NAME", "ID_NUMBER"]
    assert "chargebacks" not in json.dumps(body)


def test_real_name_attempts_cluster_by_area_apart_from_sign_ins(api: Api, faces: FaceClient, policy: Any) -> None:
    policy(risk={"area_max_cell_attempts": 1})
    crowd = [person(api, None) for _ in range(3)]
    for i, user in enumerate(crowd):  # sign-ins in the cell are a different kind of attempt: not counted
        sign_in(api, user, f"crowd-device-{i}", geo=SHANGHAI)
    first = start(api, faces, crowd[0], "obama", "crowd-device-0", geo=SHANGHAI).body
    second = start(api, faces, crowd[1], "obama", "crowd-device-1", geo=SHANGHAI).body
    elsewhere = start(api, faces, person(api, None), "obama", "far-device-1", geo=BEIJING).body
    third = start(api, faces, crowd[2], "obama", "crowd-device-2", geo=SHANGHAI).body
    for body in (first, second, elsewhere):
        assert not any(r.startswith("RISK_AREA_CLUSTER") for r in body["reasons"]), body["reasons"]
    assert "RISK_AREA_CLUSTER_CELL_ATTEMPTS" in third["reasons"]  # two earlier attempts in the cell, limit 1


def test_trust_comes_from_the_history_made_through_the_api(api: Api, faces: FaceClient, policy: Any,
                                                           clean_stack: LocalStack) -> None:
    policy(mode="TRUSTED_PASSES", trust={"min_bindings": 0})  # no binding exists before §6 is merged
    newcomer = person(api, None)  # (a phone is one account's: the proposal is not what this checks)
    first = start(api, faces, newcomer, "obama", "new-device-1", geo=SHANGHAI).body
    assert {"UNTRUSTED_TRUSTED_LOGIN_ACCOUNT", "UNTRUSTED_TRUSTED_TRANSACTIONS", "UNTRUSTED_TRUSTED_LOCATION",
            "POLICY_TRUSTED_PASSES_FAIL"} <= set(first["reasons"])
    assert first["status"] == "AWAITING_IDENTITY"

    regular, friend = person(api, DEMO_PHONE, balance=10_000), person(api, None)
    for _ in range(3):
        sign_in(api, regular, "regular-phone-1", geo=SHANGHAI)
    for amount in (100, 200, 300):
        transfer(api, regular, friend, amount)
    clean_stack.drain_streams(timeout=30)
    body = start(api, faces, regular, "obama", "regular-phone-1", geo=SHANGHAI).body
    assert {"TRUST_TRUSTED_LOGIN_ACCOUNT", "TRUST_TRUSTED_TRANSACTIONS", "TRUST_TRUSTED_BINDING",
            "TRUST_TRUSTED_LOCATION", "POLICY_TRUSTED_PASSES_PASS"} <= set(body["reasons"]), body["reasons"]
    assert body["status"] == "AWAITING_CONFIRMATION" and body["proposed_identity"]["masked_name"] == "Z*******"
    done = api.call("POST", f"/real-name/sessions/{body['session_id']}/confirmation", {"confirmed": True},
                    token=regular.token, key=str(uuid.uuid4()))
    assert done.body["status"] == "VERIFIED", done.body
    # the verified status is in the signals profile, written in the verification's transaction
    item = clean_stack.client("dynamodb").get_item(
        TableName="SignalsTable", Key={"pk": {"S": f"USER#{regular.sub}"}, "sk": {"S": "PROFILE"}})["Item"]
    real_name = item["real_name"]["M"]
    assert real_name["status"]["S"] == "VERIFIED" and real_name["method"]["S"] == "CONFIRMED_PROPOSAL"
    assert real_name["birth_date"]["S"] == "1978-08-04"  # from the ID number; the number itself is not there
    assert ZHAO_LEI.id_number not in json.dumps(item) and ZHAO_LEI.name not in json.dumps(item)


def test_contacts_phones_bring_their_identities_into_the_candidates(api: Api, faces: FaceClient,
                                                                     clean_stack: LocalStack) -> None:
    """The caller has no phone: the candidates are the identities linked to the phones of the people they
    transfer with. Distractors: five identities on two contacts' phones, two of them this face's relatives; a
    phone that is not a contact's (the family's, for the second caller) is never searched."""
    family, colleague = person(api, DEMO_PHONE), person(api, OTHER_PHONE)
    me, only_colleague = person(api, None, balance=10_000), person(api, None, balance=10_000)
    transfer(api, me, family, 100)
    transfer(api, me, colleague, 100)
    transfer(api, only_colleague, colleague, 100)
    clean_stack.drain_streams(timeout=30)

    body = start(api, faces, me, "obama", "me-device-1").body
    assert body["status"] == "AWAITING_CONFIRMATION", body
    assert body["proposed_identity"] == {"masked_name": "Z*******", "masked_id_number": "1****************3"}
    stored = clean_stack.client("dynamodb").get_item(
        TableName="RealNameTable", Key={"pk": {"S": f"SESSION#{body['session_id']}"}, "sk": {"S": "SESSION"}})
    audit = json.loads(stored["Item"]["doc"]["S"])["audit"]
    search = next(e["detail"] for e in audit if e["step"] == "matched_1_to_n")
    assert search["sources"] == {"phone": 0, "cards": 0, "contacts": 5} and search["candidates"] == 5

    # the only contact's phone links two other people: no confident match, the user types the identity
    other = start(api, faces, only_colleague, "obama", "colleague-device-1").body
    assert other["status"] == "AWAITING_IDENTITY" and "NO_CONFIDENT_MATCH" in other["reasons"]
