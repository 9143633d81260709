"""The binding saga executing the real ASL on the local stack, driven through the signed partner API.

Paths: new customer (registered, then bound), existing customer, identity mismatch, timeout, rejection, mismatching
confirmation, duplicate card (sequential and 16 concurrent), a failure injected at each step, retried steps.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.binding import signatures
from shared.binding.repository import DynamoBindingStore
from shared.binding.services.saga import BindingSteps, registered_account_id
from tests.binding.conftest import Bank, card_token, create_partner, execution, history, id_number, phone
from tests.conftest import Api

pytestmark = pytest.mark.usefixtures("bank")


def accounts_item(api: Api, key: str) -> dict[str, Any] | None:
    from shared.dynamo import from_item

    item = api.stack.client("dynamodb").get_item(TableName="AccountsTable", Key={"pk": {"S": key}},
                                                 ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def bindings_items(api: Api, prefix: str) -> list[dict[str, Any]]:
    from shared.dynamo import from_item

    items = api.stack.client("dynamodb").scan(TableName="BindingsTable")["Items"]
    return [from_item(i) for i in items if i["pk"]["S"].startswith(prefix)]


def short_timeout(api: Api, seconds: int) -> None:
    """The confirmation window as a test-length template parameter value (the start function's environment)."""
    spec = api.stack.registry.specs["CreateBindingRequestFunction"]
    spec.environment["BINDING_CONFIRMATION_TIMEOUT_SECONDS"] = str(seconds)


@pytest.fixture(autouse=True)
def _restore_timeout(api: Api) -> Any:
    spec = api.stack.registry.specs["CreateBindingRequestFunction"]
    before = dict(spec.environment)
    yield
    spec.environment.clear()
    spec.environment.update(before)


def assert_nothing_half_bound(api: Api, bank: Bank, request_id: str, token: str) -> dict[str, Any]:
    body = bank.get(request_id).body
    assert body["status"] == "FAILED", body
    fingerprints = [c for c in bindings_items(api, f"CARD#{bank.partner_id}#")
                    if c.get("binding_request_id") == request_id]
    assert fingerprints == [], "a card claim of a failed request is left"
    assert [b for b in bindings_items(api, "BINDING#") if b["binding_request_id"] == request_id] == []
    assert bindings_items(api, "INFLIGHT#") == [] or all(
        i["request_id"] != request_id for i in bindings_items(api, "INFLIGHT#"))
    pending = accounts_item(api, f"ACCOUNT#{registered_account_id(request_id)}")
    assert pending is None or pending["status"] == "CLOSED", pending
    return body


def test_new_customer_is_registered_then_bound_and_signs_in_with_the_phone(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    reply = bank.request(customer, token)
    assert reply.status == 202 and reply.body["status"] in ("REGISTERING", "AWAITING_BANK"), reply.body
    rid = reply.body["binding_request_id"]
    awaiting = bank.wait(rid, "AWAITING_BANK")
    assert awaiting["account_id"].startswith("acc_b")
    confirm_by = datetime.fromisoformat(awaiting["confirm_by"])
    assert timedelta(seconds=50) < confirm_by - datetime.now(UTC) <= timedelta(seconds=60)  # make run's window
    # Until the bank confirms, the account exists but is not usable.
    assert accounts_item(api, f"ACCOUNT#{awaiting['account_id']}")["status"] == "PENDING_BINDING"
    assert bank.confirm(rid, awaiting["account_id"], token).status == 202
    body = bank.wait(rid, "BOUND")
    assert body["account_id"] == awaiting["account_id"] and body.get("confirm_by") is None
    assert execution(api.stack, rid)["status"] == "SUCCEEDED"

    # The customer signs in with the phone (CONTRACTS.md) and sees the binding; the account is active, gated.
    sign_in = api.call("POST", "/local/token", {"phone_number": customer})
    assert sign_in.status == 200, sign_in.body
    user_token = sign_in.body["token"]
    me = api.call("GET", "/accounts/me", token=user_token).body
    assert me["account_id"] == awaiting["account_id"] and me["status"] == "ACTIVE"
    [binding] = api.call("GET", "/bindings", token=user_token).body["items"]
    assert binding["bank_name"] == "Demo Bank" and binding["card"] == "**** 1234"
    assert binding["first_use_verified"] is False
    assert accounts_item(api, f"ACCOUNT#{awaiting['account_id']}")["security_auth_required"] == binding["binding_id"]


def test_the_bank_gets_a_signed_callback_with_the_account_id(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    awaiting = bank.wait(rid, "AWAITING_BANK")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not bank.callbacks.received and datetime.now(UTC) < deadline:
        pass
    [callback] = bank.callbacks.received
    payload = json.loads(callback["body"])
    assert payload == {"binding_request_id": rid, "status": "AWAITING_BANK", "account_id": awaiting["account_id"],
                       "bank_customer_ref": payload["bank_customer_ref"], "confirm_by": payload["confirm_by"]}
    # The bank verifies it with the library under its secret, with the callback key id.
    verified = signatures.verify("POST", bank.callbacks.url, callback["headers"], callback["body"],
                                 lambda kid: bank.secret if kid == bank.key_id + ".callback" else b"",
                                 datetime.now(UTC), timedelta(minutes=5), timedelta(seconds=30))
    assert verified.key_id == bank.key_id + ".callback"
    assert bank.confirm(rid, awaiting["account_id"], token).status == 202
    bank.wait(rid, "BOUND")


def test_callbacks_that_keep_failing_do_not_block_the_binding(api: Api, bank: Bank) -> None:
    bank.callbacks.status = 503
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    awaiting = bank.wait(rid, "AWAITING_BANK")  # the bank polls
    assert bank.confirm(rid, awaiting["account_id"], token).status == 202
    assert bank.wait(rid, "BOUND")["status"] == "BOUND"
    attempts = len(bank.callbacks.received)
    assert 1 <= attempts <= 6  # bounded: the first attempt + at most 5 retries


def test_existing_account_is_bound_without_registering(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    from local_stack import tokens

    sub = f"user-{uuid.uuid4().hex[:8]}"
    user_token = tokens.issue(sub, phone_number=customer)
    account = api.call("POST", "/accounts", {}, token=user_token, key=str(uuid.uuid4())).body
    api.deposit(account["account_id"], 10_000)
    body = bank.bind(customer, token)
    assert body["status"] == "BOUND" and body["account_id"] == account["account_id"]
    assert accounts_item(api, f"ACCOUNT#{registered_account_id(body['binding_request_id'])}") is None
    # The bank's identity is recorded for the user, unverified (first-use strong verification covers it).
    [identity] = bindings_items(api, f"IDENTITY#{sub}")
    assert identity["verified"] is False and identity["source"] == f"BANK:{bank.partner_id}"
    assert "id_number" not in identity and identity["id_masked"].count("*") == 16


def _verified_real_name(api: Api, sub: str, number: str) -> None:
    """§5's record of a VERIFIED real-name identity (``REALNAME#<sub>``), as a verification writes it."""
    from local_stack.realname_demo import DemoIdentity, seed_real_name

    seed_real_name(api.stack.client("dynamodb"), api.stack.client("secretsmanager"), sub,
                   DemoIdentity("test", "obama", "Wang Wu", number, ()))


def test_verified_identity_of_another_person_fails_identity_mismatch(api: Api, bank: Bank) -> None:
    from local_stack import tokens

    customer, token = phone(), card_token()
    sub = f"user-{uuid.uuid4().hex[:8]}"
    account = api.call("POST", "/accounts", {}, token=tokens.issue(sub, phone_number=customer),
                       key=str(uuid.uuid4())).body
    _verified_real_name(api, sub, id_number(5))  # §5's record: the bank's customer must be this person
    rid = bank.start(customer, token, id_no=id_number(8))
    body = bank.wait(rid, "FAILED")
    assert body["reason"] == "IDENTITY_MISMATCH" and body.get("account_id") is None
    assert execution(api.stack, rid)["status"] == "SUCCEEDED"  # a refusal, not an operational failure
    assert accounts_item(api, f"ACCOUNT#{account['account_id']}")["status"] == "ACTIVE"
    assert bindings_items(api, f"IDENTITY#{sub}") == []  # nothing recorded for a refused request
    # The same person binds: the ID number given in lower case (the check character x) hashes as §5's did.
    same = bank.bind(customer, card_token(), id_no=id_number(5).lower())
    assert same["status"] == "BOUND" and same["account_id"] == account["account_id"]


def test_binding_hashes_an_id_number_as_real_name_does(api: Api, bank: Bank) -> None:
    """One key, one purpose, one canonical form (shared.crypto): the hash on the binding request equals the hash
    §5's directory makes of the same number."""
    from shared.crypto import KeyedHasher
    from shared.realname.services.directory import RealNameDirectory

    number = id_number(9)
    rid = bank.start(phone(), card_token(), id_no=number)
    [request] = bindings_items(api, f"REQUEST#{rid}")
    key = api.stack.client("secretsmanager").get_secret_value(SecretId="PersonalDataHashKeySecret")["SecretString"]
    real_name = RealNameDirectory(records=None, hasher=KeyedHasher(key=str(key).encode()))  # type: ignore[arg-type]
    assert request["id_hash"] == real_name.id_hash(number) == real_name.id_hash(number.lower())
    assert number not in json.dumps(request, default=str)


def test_bank_never_confirms_times_out_and_is_compensated(api: Api, bank: Bank) -> None:
    short_timeout(api, 2)
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    awaiting = bank.wait(rid, "AWAITING_BANK")
    body = bank.wait(rid, "FAILED", timeout=30)
    assert body["reason"] == "CONFIRMATION_TIMEOUT"
    assert_nothing_half_bound(api, bank, rid, token)
    assert accounts_item(api, f"ACCOUNT#{awaiting['account_id']}")["status"] == "CLOSED"
    assert accounts_item(api, f"PHONE#{customer}")["released"] is True
    assert api.call("POST", "/local/token", {"phone_number": customer}).status == 404
    late = bank.confirm(rid, awaiting["account_id"], token)
    assert late.status == 409 and late.code == "BINDING_NOT_AWAITING_BANK", late.body
    # The customer can be bound again: a new request registers a new account for the released phone.
    again = bank.bind(customer, token)
    assert again["status"] == "BOUND" and again["account_id"] != awaiting["account_id"]


def test_bank_rejection_is_compensated(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    bank.wait(rid, "AWAITING_BANK")
    assert bank.reject(rid).status == 202
    assert bank.wait(rid, "FAILED")["reason"] == "BANK_REJECTED"
    assert_nothing_half_bound(api, bank, rid, token)


def test_the_same_rejection_again_answers_the_rejected_request(api: Api, bank: Bank) -> None:
    """Found by the crash tests (issue 14): a rejection retried after a crash between failing the saga's wait and
    answering was refused 409 BINDING_NOT_AWAITING_BANK; the bank's rejection held, so it is answered again."""
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    bank.wait(rid, "AWAITING_BANK")
    key = str(uuid.uuid4())
    first = bank.call("POST", f"/partners/bindings/{rid}/rejection", {"reason": "no"}, key=key)
    assert first.status == 202, first.body
    assert bank.wait(rid, "FAILED")["reason"] == "BANK_REJECTED"
    again = bank.call("POST", f"/partners/bindings/{rid}/rejection", {"reason": "no"}, key=str(uuid.uuid4()))
    assert again.status == 202 and again.body["status"] == "FAILED", again.body
    assert_nothing_half_bound(api, bank, rid, token)


def test_every_lambda_task_retries_a_crashed_function() -> None:
    """Found by the crash tests (issue 14): a crash of the wait's or the callback's function (``Runtime.ExitError``)
    was not retried: the wait failed the saga (compensated WORKFLOW_ERROR), the callback gave up at once."""
    from pathlib import Path

    asl = json.loads((Path(__file__).parents[2] / "statemachines" / "binding.asl.json").read_text())

    def tasks(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for name, state in states.items():
            if state["Type"] == "Task":
                found.append((name, state))
            for branch in state.get("Branches", []):
                found += tasks(branch["States"])
        return found

    for name, state in tasks(asl["States"]):
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert {"Runtime.ExitError", "Lambda.Unknown", "Sandbox.Timedout"} <= retried, name


@pytest.mark.parametrize("wrong", ["card", "account"])
def test_confirmation_naming_another_card_or_account_is_rejected_and_compensated(api: Api, bank: Bank,
                                                                                  wrong: str) -> None:
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    awaiting = bank.wait(rid, "AWAITING_BANK")
    account = awaiting["account_id"] if wrong == "card" else "acc_b" + "0" * 31
    reply = bank.confirm(rid, account, card_token() if wrong == "card" else token)
    assert reply.status == 422 and reply.code == "CONFIRMATION_MISMATCH", reply.body
    assert bank.wait(rid, "FAILED")["reason"] == "CONFIRMATION_MISMATCH"
    assert_nothing_half_bound(api, bank, rid, token)


def test_a_bound_card_cannot_be_bound_to_another_account_until_unbound(api: Api, bank: Bank) -> None:
    token = card_token()
    first = bank.bind(phone(), token)
    assert first["status"] == "BOUND"
    # Caught before anyone is registered: the card is already bound.
    second_phone = phone()
    rid = bank.start(second_phone, token)
    failed = bank.wait(rid, "FAILED")
    assert failed["reason"] == "ALREADY_BOUND"
    assert accounts_item(api, f"PHONE#{second_phone}") is None
    confirm = bank.confirm(rid, "acc_b" + "1" * 31, token)
    assert confirm.status == 409 and confirm.code == "ALREADY_BOUND", confirm.body
    # Another bank's card with the same token string is another card.
    other = create_partner(api, bank.callbacks, "Other Bank")
    assert other.bind(phone(), token)["status"] == "BOUND"


def test_sixteen_racing_requests_for_one_card_bind_exactly_once(api: Api, bank: Bank) -> None:
    token = card_token()
    phones = [phone() for _ in range(16)]
    request_ids: list[str] = []
    lock = threading.Lock()

    def request(p: str) -> None:
        reply = bank.request(p, token, ref=f"ref-{p[-8:]}")
        assert reply.status == 202, reply.body
        with lock:
            request_ids.append(reply.body["binding_request_id"])

    threads = [threading.Thread(target=request, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    awaiting = [bank.wait(rid, "AWAITING_BANK", "FAILED", timeout=60) for rid in request_ids]
    results: dict[str, int] = {}

    def confirm(body: dict[str, Any]) -> None:
        if body["status"] != "AWAITING_BANK":
            return
        reply = bank.confirm(body["binding_request_id"], body["account_id"], token)
        with lock:
            results[body["binding_request_id"]] = reply.status

    threads = [threading.Thread(target=confirm, args=(b,)) for b in awaiting]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = [bank.wait(rid, "BOUND", "FAILED", timeout=60) for rid in request_ids]
    bound = [f for f in final if f["status"] == "BOUND"]
    assert len(bound) == 1, final
    assert {f["reason"] for f in final if f["status"] == "FAILED"} == {"ALREADY_BOUND"}
    assert sorted(results.values()).count(202) == 1 and set(results.values()) <= {202, 409}
    assert len(bindings_items(api, f"CARD#{bank.partner_id}#")) == 1
    # Every account the losers registered is closed again.
    for f in final:
        if f["status"] == "FAILED":
            item = accounts_item(api, f"ACCOUNT#{registered_account_id(f['binding_request_id'])}")
            assert item is None or item["status"] == "CLOSED"


def test_a_repeated_request_while_one_is_in_flight_returns_it(api: Api, bank: Bank) -> None:
    customer, token = phone(), card_token()
    first = bank.request(customer, token, ref="cust-42")
    again = bank.request(customer, token, ref="cust-42")
    assert first.status == 202 and again.status == 200, again.body
    assert again.body["binding_request_id"] == first.body["binding_request_id"]


# --- a failure injected at each step ---------------------------------------------------------------------------
def _always_fail(monkeypatch: pytest.MonkeyPatch, step: str, after: bool = False, times: int = 1000) -> list[int]:
    original = getattr(BindingSteps, step)
    calls = [0]

    def failing(self: BindingSteps, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] > times:
            return original(self, *args, **kwargs)
        if after:
            original(self, *args, **kwargs)
        raise RuntimeError(f"injected failure in {step}")

    monkeypatch.setattr(BindingSteps, step, failing)
    return calls


@pytest.mark.parametrize("step,after", [("find_account", False), ("register", True), ("await_bank", True),
                                        ("activate", False)])
def test_a_failure_at_each_step_is_compensated(api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch, step: str,
                                               after: bool) -> None:
    _always_fail(monkeypatch, step, after)
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    if step == "activate":
        awaiting = bank.wait(rid, "AWAITING_BANK")
        assert bank.confirm(rid, awaiting["account_id"], token).status == 202
    body = bank.wait(rid, "FAILED", timeout=60)
    assert body["reason"] == "WORKFLOW_ERROR"
    assert_nothing_half_bound(api, bank, rid, token)
    assert execution(api.stack, rid)["status"] == "FAILED"  # an operational failure: alarmed on
    phone_claim = accounts_item(api, f"PHONE#{customer}")
    assert phone_claim is None or phone_claim["released"] is True


def test_a_failure_after_activation_committed_completes(api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    _always_fail(monkeypatch, "activate", after=True)
    body = bank.bind(phone(), card_token())
    assert body["status"] == "BOUND"
    assert execution(api.stack, body["binding_request_id"])["status"] == "SUCCEEDED"  # compensation found it done


def test_a_failure_in_the_middle_of_activation_is_compensated(api: Api, bank: Bank,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The account is activated (gate up) and the binding marked active, then the request's own write fails."""
    original = DynamoBindingStore.update_request

    def failing(self: DynamoBindingStore, request: Any, *args: Any, **kwargs: Any) -> None:
        if request.status.value == "BOUND":
            raise RuntimeError("injected: the request could not be marked BOUND")
        original(self, request, *args, **kwargs)

    monkeypatch.setattr(DynamoBindingStore, "update_request", failing)
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    awaiting = bank.wait(rid, "AWAITING_BANK")
    assert bank.confirm(rid, awaiting["account_id"], token).status == 202
    assert bank.wait(rid, "FAILED", timeout=60)["reason"] == "WORKFLOW_ERROR"
    assert_nothing_half_bound(api, bank, rid, token)
    account = accounts_item(api, f"ACCOUNT#{awaiting['account_id']}")
    assert account["status"] == "CLOSED" and "security_auth_required" not in account


def test_a_failing_callback_step_still_completes(api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    _always_fail(monkeypatch, "notify_bank")
    assert bank.bind(phone(), card_token())["status"] == "BOUND"


def test_a_failing_compensation_is_retried(api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    short_timeout(api, 1)
    calls = _always_fail(monkeypatch, "compensate", times=1)
    customer, token = phone(), card_token()
    rid = bank.start(customer, token)
    assert bank.wait(rid, "FAILED", timeout=30)["reason"] == "CONFIRMATION_TIMEOUT"
    assert calls[0] == 2
    assert_nothing_half_bound(api, bank, rid, token)


def test_a_retried_registration_registers_once(api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _always_fail(monkeypatch, "register", after=True, times=1)  # commits, then "crashes" once
    customer, token = phone(), card_token()
    body = bank.bind(customer, token)
    assert body["status"] == "BOUND" and calls[0] == 2
    from shared.dynamo import from_item

    accounts = [from_item(i) for i in api.stack.client("dynamodb").scan(TableName="AccountsTable")["Items"]
                if i.get("phone", {}).get("S") == customer and i["pk"]["S"].startswith("ACCOUNT#")]
    assert len(accounts) == 1 and accounts[0]["account_id"] == body["account_id"]
    users = bindings_items(api, f"USER#{customer}")
    assert len(users) == 1
    retried = [e for e in history(api.stack, body["binding_request_id"])
               if e["type"] in ("LambdaFunctionFailed", "TaskFailed")
               and "injected failure in register" in json.dumps(e, default=str)]
    assert len(retried) == 1  # the state machine retried the step once
