"""DynamoDB data access for the ledger: the Accounts table and the Ledger table.

Items (the only place these shapes exist):

Accounts table (``pk``)
    ``ACCOUNT#<id>``   the account with its ``balance`` (N) and ``status``
    ``OWNER#<sub>``    put-once claim: one customer account per user

A scan of ``ACCOUNT#`` items, batch reads of accounts and the sum of an account's entries serve reconciliation
(``LedgerAudit``).

Ledger table (``pk``, ``sk``)
    ``TX#<id>`` / ``TX``                                   the transaction record (put-once)
    ``ACCOUNT#<id>`` / ``ENTRY#<created_at>#<tx>#<D|C>``  one entry per side, newest-first by ``sk``

A transfer is one ``TransactWriteItems``: [put TX once, debit balance with
conditions, credit balance with conditions, put both entries]. Failures are
mapped from ``CancellationReasons`` codes by item index, never from messages.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import iso
from shared.dynamo import RETRYABLE_REASONS, Repository, cancellation_reasons, from_item, to_item
from shared.errors import AlreadyExists
from shared.ledger.errors import (
    AccountAlreadyExists,
    AccountFrozen,
    AccountNotFound,
    AccountNotPayable,
    CurrencyMismatch,
    InsufficientFunds,
)
from shared.ledger.models import Account, AccountKind, AccountStatus, Direction, Entry, EntryPage, Transaction
from shared.ledger.ports import GuardedWrite, TransactionAlreadyApplied, WriteConflict
from shared.types import Money
from shared.writes import transact

__all__ = ["DynamoLedgerStore"]


def account_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{account_id}"}}


def _account_from_item(item: Mapping[str, Any]) -> Account:
    d = from_item(item)
    return Account(
        account_id=d["account_id"],
        owner=d["owner"],
        kind=AccountKind(d["kind"]),
        status=AccountStatus(d["status"]),
        currency=d["currency"],
        balance=int(d["balance"]),
        allow_negative=bool(d.get("allow_negative", False)),
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
                "created_at": iso(account.created_at),
            }
        )
        put_account = {
            "Put": {"TableName": self.accounts_table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        items = [put_account]
        if unique_owner:
            claim = to_item({"pk": f"OWNER#{account.owner}", "entity": "OWNER", "account_id": account.account_id})
            items.append({"Put": {"TableName": self.accounts_table, "Item": claim,
                                  "ConditionExpression": "attribute_not_exists(pk)"}})
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AccountAlreadyExists() from exc
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise AlreadyExists("The account id already exists.", account_id=account.account_id) from exc
            raise

    def get_account(self, account_id: str) -> Account | None:
        resp = self.client.get_item(TableName=self.accounts_table, Key=account_key(account_id), ConsistentRead=True)
        item = resp.get("Item")
        return _account_from_item(item) if item else None

    def find_account_by_owner(self, owner: str) -> Account | None:
        resp = self.client.get_item(
            TableName=self.accounts_table, Key={"pk": {"S": f"OWNER#{owner}"}}, ConsistentRead=True
        )
        claim = resp.get("Item")
        if not claim:
            return None
        return self.get_account(claim["account_id"]["S"])

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

        items = [
            {
                "Put": {
                    "TableName": self.ledger_table,
                    "Item": tx_item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.accounts_table,
                    "Key": account_key(tx.debit_account_id),
                    "UpdateExpression": "SET balance = balance - :amt",
                    "ConditionExpression": "attribute_exists(pk) AND #st = :active AND currency = :cur"
                    " AND (balance >= :amt OR allow_negative = :yes)",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {":amt": amount, ":cur": currency, ":active": active,
                                                  ":yes": {"BOOL": True}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": self.accounts_table,
                    "Key": account_key(tx.credit_account_id),
                    "UpdateExpression": "SET balance = balance + :amt",
                    "ConditionExpression": "attribute_exists(pk) AND #st = :active AND currency = :cur" + kind_clause,
                    "ExpressionAttributeNames": {"#st": "status", **({"#kind": "kind"} if kinds else {})},
                    "ExpressionAttributeValues": {":amt": amount, ":cur": currency, ":active": active, **kinds},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            entry(tx.debit_account_id, tx.credit_account_id, Direction.DEBIT),
            entry(tx.credit_account_id, tx.debit_account_id, Direction.CREDIT),
        ]
        try:  # the capability's writes raise their own errors first: they are its preconditions
            transact(self.client, writes, before=items)
        except ClientError as exc:
            self._raise_for(exc, tx, credit_kinds)

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

    def _raise_for(self, exc: ClientError, tx: Transaction, credit_kinds: Collection[AccountKind] | None) -> None:
        """Diagnose a cancelled transfer from the ledger's own items: [tx record, debit, credit, entries]."""
        if exc.response.get("Error", {}).get("Code", "") != "TransactionCanceledException":
            raise exc
        raw = exc.response.get("CancellationReasons") or []
        codes = cancellation_reasons(exc)
        if codes and codes[0] == "ConditionalCheckFailed":
            raise TransactionAlreadyApplied(tx.transaction_id) from exc
        if any(c in RETRYABLE_REASONS for c in codes):
            raise WriteConflict(",".join(codes)) from exc
        for index, account_id, is_debit in ((1, tx.debit_account_id, True), (2, tx.credit_account_id, False)):
            if index < len(codes) and codes[index] == "ConditionalCheckFailed":
                old = raw[index].get("Item")
                current = _account_from_item(old) if old else self.get_account(account_id)
                raise _diagnose(current, account_id, tx, is_debit, credit_kinds) from exc
        raise exc


def _diagnose(account: Account | None, account_id: str, tx: Transaction, is_debit: bool,
              credit_kinds: Collection[AccountKind] | None = None) -> Exception:
    if account is None:
        return AccountNotFound(account_id=account_id)
    if not is_debit and credit_kinds is not None and account.kind not in credit_kinds:
        return AccountNotPayable(account_id=account_id)
    if account.status is not AccountStatus.ACTIVE:
        return AccountFrozen(account_id=account_id, status=account.status.value)
    if account.currency != tx.amount.currency:
        return CurrencyMismatch(account_id=account_id, account_currency=account.currency)
    if is_debit:
        return InsufficientFunds(account_id=account_id)
    return WriteConflict("credit condition failed on a consistent account")


