"""DynamoDB data access for the ledger: the Accounts table and the Ledger table.

Items (the only place these shapes exist):

Accounts table (``pk``)
    ``ACCOUNT#<id>``   the account with its ``balance`` (N), ``status`` and ``phone`` (E.164, personal data)
    ``OWNER#<sub>``    put-once claim: one customer account per user
    ``PHONE#<e164>``   put-once claim: a phone number belongs to one account (CONTRACTS.md)

A claim is taken again only once ``released`` (the phone was changed away from it, SPEC §4, or the account it
named was opened by a bank binding that failed and was closed unused, SPEC §6): nothing is ever deleted from the
Accounts table.

A scan of ``ACCOUNT#`` items, batch reads of accounts and the sum of an account's entries serve reconciliation
(``LedgerAudit``).

Ledger table (``pk``, ``sk``)
    ``TX#<id>`` / ``TX``                                   the transaction record (put-once)
    ``ACCOUNT#<id>`` / ``ENTRY#<created_at>#<tx>#<D|C>``  one entry per side, newest-first by ``sk``
    ``OUTBOX#<event id>`` / ``OUTBOX``                     the transaction's ``TransferCompleted`` event (outbox:
                                                          put once, published from the stream, removed by TTL)

A transfer is one ``TransactWriteItems``: [put both entries, the capability's
own writes, put TX once, put its event once (``shared/outbox.py``), debit
balance with conditions, credit balance with conditions]. Every conditional
item is a ``GuardedWrite`` that knows the domain error it stands for
(diagnosed from the item's old image), so a cancelled transaction
names its reason; nothing is mapped from messages or positions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import Repository, from_item, is_condition_failure, to_item
from shared.errors import AlreadyExists, Conflict
from shared.ledger.errors import (
    AccountAlreadyExists,
    AccountFrozen,
    AccountNotFound,
    AccountNotPayable,
    AccountNotPending,
    CurrencyMismatch,
    InsufficientFunds,
    PhoneInUse,
    SecurityAuthenticationNotRequired,
    SecurityAuthenticationRequired,
)
from shared.ledger.models import Account, AccountKind, AccountStatus, Direction, Entry, EntryPage, Transaction
from shared.ledger.ports import GuardedWrite, TransactionAlreadyApplied, WriteConflict
from shared.outbox import OutboxEvent, event_id_of, outbox_write
from shared.types import Money
from shared.writes import OldImage, transact

__all__ = ["EVENT_SOURCE", "TRANSFER_COMPLETED", "DynamoLedgerStore", "transfer_event"]

EVENT_SOURCE = "wallet.ledger"
TRANSFER_COMPLETED = "TransferCompleted"


def account_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{account_id}"}}


def _account_from_item(item: Mapping[str, Any]) -> Account:
    return _account_from_plain(from_item(item))


def _account_from_plain(d: Mapping[str, Any]) -> Account:
    return Account(
        account_id=d["account_id"],
        owner=d["owner"],
        kind=AccountKind(d["kind"]),
        status=AccountStatus(d["status"]),
        currency=d["currency"],
        balance=int(d["balance"]),
        allow_negative=bool(d.get("allow_negative", False)),
        phone=d.get("phone"),
        security_auth_required=d.get("security_auth_required"),
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _tx_from_item(item: dict[str, Any]) -> Transaction:
    d = from_item(item)
    return Transaction(
        transaction_id=d["transaction_id"],
        type=d["type"],
        debit_account_id=d["debit_account_id"],
        credit_account_id=d["credit_account_id"],
        amount=Money(amount=int(d["amount"]), currency=d["currency"]),
        metadata={str(k): str(v) for k, v in (d.get("metadata") or {}).items()},
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _entry_from_item(item: dict[str, Any]) -> Entry:
    d = from_item(item)
    return Entry(
        account_id=d["account_id"],
        transaction_id=d["transaction_id"],
        direction=Direction(d["direction"]),
        amount=Money(amount=int(d["amount"]), currency=d["currency"]),
        counterparty_account_id=d["counterparty_account_id"],
        type=d["type"],
        note=d.get("note"),
        created_at=datetime.fromisoformat(d["created_at"]),
    )


class DynamoLedgerStore(Repository):
    """``LedgerStore`` on the Accounts and Ledger tables."""

    def __init__(self, accounts_table: str, ledger_table: str, client: Any = None) -> None:
        super().__init__(client)
        self.accounts_table = accounts_table
        self.ledger_table = ledger_table

    # --- accounts -------------------------------------------------------------
    def create_account(self, account: Account, unique_owner: bool) -> None:
        item = to_item(
            {
                "pk": f"ACCOUNT#{account.account_id}",
                "entity": "ACCOUNT",
                "account_id": account.account_id,
                "owner": account.owner,
                "kind": account.kind.value,
                "status": account.status.value,
                "currency": account.currency,
                "balance": account.balance,
                "allow_negative": account.allow_negative,
                "phone": account.phone,
                "created_at": iso(account.created_at),
            }
        )
        taken = AlreadyExists("The account id already exists.", account_id=account.account_id)
        writes = [GuardedWrite.failing_with(self._put_once(item), lambda: taken)]
        if unique_owner:
            claim = to_item({"pk": f"OWNER#{account.owner}", "entity": "OWNER", "account_id": account.account_id})
            writes.append(GuardedWrite.failing_with(self._claim(claim), AccountAlreadyExists))
        if account.phone:
            phone = to_item({"pk": f"PHONE#{account.phone}", "entity": "PHONE", "account_id": account.account_id,
                             "owner": account.owner})
            writes.append(GuardedWrite.failing_with(self._claim(phone), PhoneInUse))
        transact(self.client, writes)

    def _put_once(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self.accounts_table, "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)"}}

    def _claim(self, item: dict[str, Any]) -> dict[str, Any]:
        """Put-once, unless the previous holder's claim was released (changed away, or its account closed unused)."""
        return {"Put": {"TableName": self.accounts_table, "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk) OR released = :yes",
                        "ExpressionAttributeValues": {":yes": {"BOOL": True}}}}

    def _claimed(self, key: str) -> str | None:
        """The account id a live (not released) claim names."""
        item = self.client.get_item(TableName=self.accounts_table, Key={"pk": {"S": key}},
                                    ConsistentRead=True).get("Item")
        if not item or item.get("released", {}).get("BOOL"):
            return None
        return str(item["account_id"]["S"])

    def change_phone(self, account: Account, new_phone: str, writes: Sequence[GuardedWrite] = ()) -> Account:
        """[writes..., release the old claim, claim the new number, set it on the account] in one transaction."""
        claim = to_item({"pk": f"PHONE#{new_phone}", "entity": "PHONE", "account_id": account.account_id,
                         "owner": account.owner})
        changed = Conflict("The account's phone changed meanwhile; try again.")
        update: dict[str, Any] = {
            "TableName": self.accounts_table, "Key": account_key(account.account_id),
            "UpdateExpression": "SET phone = :new",
            "ConditionExpression": "attribute_exists(pk) AND "
                                   + ("phone = :old" if account.phone else "attribute_not_exists(phone)"),
            "ExpressionAttributeValues": {":new": {"S": new_phone},
                                          **({":old": {"S": account.phone}} if account.phone else {})}}
        guarded = [*writes]
        if account.phone:
            release = {"TableName": self.accounts_table, "Key": {"pk": {"S": f"PHONE#{account.phone}"}},
                       "UpdateExpression": "SET released = :yes",
                       "ConditionExpression": "account_id = :id",
                       "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":id": {"S": account.account_id}}}
            guarded.append(GuardedWrite.failing_with({"Update": release}, lambda: changed))
        guarded += [GuardedWrite.failing_with(self._claim(claim), PhoneInUse),
                    GuardedWrite.failing_with({"Update": update}, lambda: changed)]
        transact(self.client, guarded)
        return account.model_copy(update={"phone": new_phone})

    # --- bank-initiated binding (SPEC §6) -------------------------------------------
    def activate_for_binding(self, account_id: str, binding_id: str) -> None:
        """PENDING_BINDING (or ACTIVE) -> ACTIVE with the binding's first-use gate set."""
        try:
            self.client.update_item(
                TableName=self.accounts_table, Key=account_key(account_id),
                UpdateExpression="SET #st = :active, security_auth_required = :binding",
                ConditionExpression="attribute_exists(pk) AND #st IN (:pending, :active)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":active": {"S": AccountStatus.ACTIVE.value},
                                           ":pending": {"S": AccountStatus.PENDING_BINDING.value},
                                           ":binding": {"S": binding_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old: Any = exc.response.get("Item")
            if not old:
                raise AccountNotFound(account_id=account_id) from exc
            raise AccountFrozen(account_id=account_id, status=from_item(old).get("status")) from exc

    def clear_security_auth(self, account_id: str, binding_id: str | None = None) -> bool:
        """Lift the first-use gate (of ``binding_id`` when given); False when it was not set."""
        condition = "attribute_exists(security_auth_required)"
        values: dict[str, Any] = {}
        if binding_id:
            condition = "security_auth_required = :binding"
            values = {":binding": {"S": binding_id}}
        try:
            self.client.update_item(TableName=self.accounts_table, Key=account_key(account_id),
                                    UpdateExpression="REMOVE security_auth_required",
                                    ConditionExpression=condition,
                                    **({"ExpressionAttributeValues": values} if values else {}))
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def clear_security_auth_write(self, account_id: str, binding_id: str) -> GuardedWrite:
        update = {"Update": {"TableName": self.accounts_table, "Key": account_key(account_id),
                             "UpdateExpression": "REMOVE security_auth_required",
                             "ConditionExpression": "security_auth_required = :binding",
                             "ExpressionAttributeValues": {":binding": {"S": binding_id}}}}
        return GuardedWrite.failing_with(update, lambda: SecurityAuthenticationNotRequired(account_id=account_id))

    def close_pending(self, account: Account, reason: str, binding_id: str | None = None) -> None:
        """Close an account opened for a binding and never used (PENDING_BINDING, or activated by ``binding_id``
        whose gate is still up; balance 0) and release its owner and phone claims, in one transaction; a no-op
        when it is already closed."""
        if account.status is AccountStatus.CLOSED:
            return
        close = {"Update": {
            "TableName": self.accounts_table, "Key": account_key(account.account_id),
            "UpdateExpression": "SET #st = :closed, closed_reason = :reason REMOVE security_auth_required",
            "ConditionExpression": "balance = :zero AND (#st = :pending OR security_auth_required = :binding)",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":closed": {"S": AccountStatus.CLOSED.value},
                                          ":pending": {"S": AccountStatus.PENDING_BINDING.value},
                                          ":binding": {"S": binding_id or "-"},
                                          ":reason": {"S": reason}, ":zero": {"N": "0"}}}}

        def release(key: str) -> dict[str, Any]:
            return {"Update": {"TableName": self.accounts_table, "Key": {"pk": {"S": key}},
                               "UpdateExpression": "SET released = :yes",
                               "ConditionExpression": "account_id = :id",
                               "ExpressionAttributeValues": {":yes": {"BOOL": True},
                                                             ":id": {"S": account.account_id}}}}

        not_pending = AccountNotPending(account_id=account.account_id)
        writes = [GuardedWrite.failing_with(close, lambda: not_pending)]
        claims = [f"OWNER#{account.owner}"] + ([f"PHONE#{account.phone}"] if account.phone else [])
        for key in claims:
            if self._claimed(key) == account.account_id:
                writes.append(GuardedWrite.failing_with(release(key), lambda: not_pending))
        transact(self.client, writes)

    def get_account(self, account_id: str) -> Account | None:
        resp = self.client.get_item(TableName=self.accounts_table, Key=account_key(account_id), ConsistentRead=True)
        item = resp.get("Item")
        return _account_from_item(item) if item else None

    def find_account_by_owner(self, owner: str) -> Account | None:
        account_id = self._claimed(f"OWNER#{owner}")
        return self.get_account(account_id) if account_id else None

    def find_account_by_phone(self, phone: str) -> Account | None:
        account_id = self._claimed(f"PHONE#{phone}")
        return self.get_account(account_id) if account_id else None

    # --- transactions ---------------------------------------------------------
    def apply(self, tx: Transaction, note: str | None = None, writes: Sequence[GuardedWrite] = (),
              credit_kinds: Collection[AccountKind] | None = None) -> None:
        amount = {"N": str(tx.amount.amount)}
        currency = {"S": tx.amount.currency}
        active = {"S": AccountStatus.ACTIVE.value}
        kinds = {f":k{i}": {"S": k.value} for i, k in enumerate(sorted(credit_kinds or ()))}
        kind_clause = f" AND #kind IN ({', '.join(kinds)})" if kinds else ""
        created = iso(tx.created_at)
        tx_item = to_item(
            {
                "pk": f"TX#{tx.transaction_id}",
                "sk": "TX",
                "entity": "TRANSACTION",
                "transaction_id": tx.transaction_id,
                "type": tx.type,
                "debit_account_id": tx.debit_account_id,
                "credit_account_id": tx.credit_account_id,
                "amount": tx.amount.amount,
                "currency": tx.amount.currency,
                "metadata": dict(tx.metadata) or None,
                "note": note,
                "created_at": created,
            }
        )

        def entry(account_id: str, counterparty: str, direction: Direction) -> dict[str, Any]:
            return {
                "Put": {
                    "TableName": self.ledger_table,
                    "Item": to_item(
                        {
                            "pk": f"ACCOUNT#{account_id}",
                            "sk": f"ENTRY#{created}#{tx.transaction_id}#{direction.value[0]}",
                            "entity": "ENTRY",
                            "account_id": account_id,
                            "transaction_id": tx.transaction_id,
                            "direction": direction.value,
                            "amount": tx.amount.amount,
                            "currency": tx.amount.currency,
                            "counterparty_account_id": counterparty,
                            "type": tx.type,
                            "note": note,
                            "created_at": created,
                        }
                    ),
                }
            }

        put_tx = {"Put": {"TableName": self.ledger_table, "Item": tx_item,
                          "ConditionExpression": "attribute_not_exists(pk)"}}
        debit = {
            "Update": {
                "TableName": self.accounts_table,
                "Key": account_key(tx.debit_account_id),
                "UpdateExpression": "SET balance = balance - :amt",
                "ConditionExpression": "attribute_exists(pk) AND #st = :active AND currency = :cur"
                " AND (balance >= :amt OR allow_negative = :yes) AND attribute_not_exists(security_auth_required)",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":amt": amount, ":cur": currency, ":active": active,
                                              ":yes": {"BOOL": True}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        credit = {
            "Update": {
                "TableName": self.accounts_table,
                "Key": account_key(tx.credit_account_id),
                "UpdateExpression": "SET balance = balance + :amt",
                "ConditionExpression": "attribute_exists(pk) AND #st = :active AND currency = :cur" + kind_clause,
                "ExpressionAttributeNames": {"#st": "status", **({"#kind": "kind"} if kinds else {})},
                "ExpressionAttributeValues": {":amt": amount, ":cur": currency, ":active": active, **kinds},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        guarded = [  # the capability's writes first: they are its preconditions
            *writes,
            GuardedWrite.failing_with(put_tx, lambda: TransactionAlreadyApplied(tx.transaction_id)),
            outbox_write(self.ledger_table, transfer_event(tx),
                         lambda: TransactionAlreadyApplied(tx.transaction_id)),  # after put_tx: the same meaning
            GuardedWrite(debit, lambda old: self._diagnose(old, tx.debit_account_id, tx, True, None)),
            GuardedWrite(credit, lambda old: self._diagnose(old, tx.credit_account_id, tx, False, credit_kinds)),
        ]
        entries = [entry(tx.debit_account_id, tx.credit_account_id, Direction.DEBIT),
                   entry(tx.credit_account_id, tx.debit_account_id, Direction.CREDIT)]
        transact(self.client, guarded, before=entries)

    def get_transaction(self, transaction_id: str) -> Transaction | None:
        resp = self.client.get_item(
            TableName=self.ledger_table,
            Key={"pk": {"S": f"TX#{transaction_id}"}, "sk": {"S": "TX"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return _tx_from_item(item) if item else None

    def list_entries(self, account_id: str, limit: int, cursor: str | None) -> EntryPage:
        """Newest first. ``cursor`` is the ``sk`` of the last entry of the previous page."""
        kwargs: dict[str, Any] = {
            "TableName": self.ledger_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :entry)",
            "ExpressionAttributeValues": {":pk": {"S": f"ACCOUNT#{account_id}"}, ":entry": {"S": "ENTRY#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": cursor}}
        resp = self.client.query(**kwargs)
        items = [_entry_from_item(i) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return EntryPage(items=items, cursor=last["sk"]["S"] if last else None)

    def _diagnose(self, old: OldImage, account_id: str, tx: Transaction, is_debit: bool,
                  credit_kinds: Collection[AccountKind] | None) -> Exception:
        """Why a side's condition failed, from the account as it was (re-read if the store did not return it)."""
        account = _account_from_plain(old) if old else self.get_account(account_id)
        return _diagnose(account, account_id, tx, is_debit, credit_kinds)

    # --- audit (LedgerAudit: reconciliation) ------------------------------------
    def scan_accounts(self, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.accounts_table, "Limit": limit, "ConsistentRead": True,
            "FilterExpression": "entity = :account", "ExpressionAttributeValues": {":account": {"S": "ACCOUNT"}},
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": cursor}}
        resp = self.client.scan(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return [_account_from_item(i) for i in resp.get("Items", [])], (last["pk"]["S"] if last else None)

    def get_accounts(self, account_ids: Collection[str]) -> dict[str, Account]:
        ids = sorted(set(account_ids))
        out: dict[str, Account] = {}
        for start in range(0, len(ids), 100):
            request: dict[str, Any] = {self.accounts_table: {
                "Keys": [account_key(a) for a in ids[start:start + 100]], "ConsistentRead": True}}
            while request:
                resp = self.client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.accounts_table, []):
                    account = _account_from_item(item)
                    out[account.account_id] = account
                request = resp.get("UnprocessedKeys") or {}
        return out

    def entries_total(self, account_id: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": self.ledger_table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :entry)",
            "ProjectionExpression": "direction, amount",
            "ExpressionAttributeValues": {":pk": {"S": f"ACCOUNT#{account_id}"}, ":entry": {"S": "ENTRY#"}},
        }
        total = 0
        while True:
            resp = self.client.query(**kwargs)
            for item in resp.get("Items", []):
                amount = int(item["amount"]["N"])
                total += amount if item["direction"]["S"] == Direction.CREDIT.value else -amount
            if not resp.get("LastEvaluatedKey"):
                return total
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]



def transfer_event(tx: Transaction) -> OutboxEvent:
    """``TransferCompleted`` (source ``wallet.ledger``): written in the transfer's own transaction (the outbox),
    one per transaction id; ids and amounts only."""
    return OutboxEvent(
        event_id=event_id_of(EVENT_SOURCE, TRANSFER_COMPLETED, tx.transaction_id), source=EVENT_SOURCE,
        detail_type=TRANSFER_COMPLETED, created_at=tx.created_at,
        detail={"transaction_id": tx.transaction_id, "type": tx.type, "debit_account_id": tx.debit_account_id,
                "credit_account_id": tx.credit_account_id, "amount": tx.amount.amount,
                "currency": tx.amount.currency, "created_at": iso(tx.created_at)})


def _diagnose(account: Account | None, account_id: str, tx: Transaction, is_debit: bool,
              credit_kinds: Collection[AccountKind] | None = None) -> Exception:
    if account is None:
        return AccountNotFound(account_id=account_id)
    if not is_debit and credit_kinds is not None and account.kind not in credit_kinds:
        return AccountNotPayable(account_id=account_id)
    if account.status is not AccountStatus.ACTIVE:
        return AccountFrozen(account_id=account_id, status=account.status.value)
    if is_debit and account.security_auth_required:
        return SecurityAuthenticationRequired(account_id=account_id)
    if account.currency != tx.amount.currency:
        return CurrencyMismatch(account_id=account_id, account_currency=account.currency)
    if is_debit:
        return InsufficientFunds(account_id=account_id)
    return WriteConflict("credit condition failed on a consistent account")


