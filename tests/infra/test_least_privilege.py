"""Least privilege on DynamoDB, checked on what deploys: the IAM roles of ``template.yaml`` after SAM's transform.

* Every function holds exactly the DynamoDB access its code path makes (``dynamodb_access.yaml``): no write
  action it does not make, no read where it does not read, no table it does not touch.
* The ledger and the accounts tables are never deletable, by any role (functions, state machines, schedules):
  no DeleteItem, BatchWriteItem, PartiQL writes or table-level actions; the ledger is append-only (no UpdateItem).
* The local stack enforces the same grants (its expansion of ``Policies`` agrees with SAM's).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local_stack import iam
from local_stack.template import TEMPLATE, Template, load_yaml
from tests.infra.sam_transform import as_template, transform, transformed

DECLARED = Path(__file__).with_name("dynamodb_access.yaml")
LEDGER, ACCOUNTS = "LedgerTable", "AccountsTable"
# IAM-only DynamoDB actions (no API operation of that name).
_IAM_ONLY = {"ConditionCheckItem", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete"}
_READ_PREFIXES = ("Get", "BatchGet", "Query", "Scan", "Describe", "List")
# What any role may hold on the money tables: reads, put-once appends, condition checks, balance updates.
_MONEY_SAFE = {"PutItem", "UpdateItem", "ConditionCheckItem"}

Grants = dict[str, dict[str, set[str]]]  # function -> table -> DynamoDB actions (without the prefix)


@functools.cache
def dynamodb_actions() -> frozenset[str]:
    """Every DynamoDB IAM action: the API's operations plus the IAM-only ones (to expand wildcards)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("dynamodb").operation_names) | _IAM_ONLY


def is_read(action: str) -> bool:
    return action.startswith(_READ_PREFIXES) or action == "PartiQLSelect"


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, text: str, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, 0 if case_sensitive else re.IGNORECASE) is not None


def dynamodb_grants(statements: list[dict[str, Any]], template: Template) -> dict[str, set[str]]:
    """table logical id -> DynamoDB actions that Allow statements grant on it (wildcards expanded)."""
    tables = {lid: template.arn(lid) for lid in template.of_type("AWS::DynamoDB::Table")}
    out: dict[str, set[str]] = {}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            raise AssertionError(f"NotAction/NotResource makes grants unreadable: {statement}")
        patterns = [str(a) for a in _listify(statement.get("Action") or [])]
        actions = {a for a in dynamodb_actions() for p in patterns if _matches(p, f"dynamodb:{a}", False)}
        for resource in (str(r) for r in _listify(statement.get("Resource") or [])):
            for lid, arn in tables.items():
                if _matches(resource, arn, True) or _matches(resource, f"{arn}/index/any", True):
                    out.setdefault(lid, set()).update(actions)
    return {table: actions for table, actions in out.items() if actions}


def role_statements(doc: dict[str, Any], template: Template) -> dict[str, list[dict[str, Any]]]:
    """Every IAM role of a transformed template -> its inline statements, intrinsics resolved."""
    out = {}
    for lid, res in doc["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            props = res["Properties"]
            managed = [str(template.resolve(a)) for a in props.get("ManagedPolicyArns") or []]
            # AWSLambdaDynamoDBExecutionRole (SAM adds it for a DynamoDB stream event): stream reads only
            # (DescribeStream, GetRecords, GetShardIterator, ListStreams) and logs, no table item action.
            unknown = [a for a in managed if not a.endswith(("/AWSLambdaBasicExecutionRole", "/AWSXrayWriteOnlyAccess",
                                                              "/AWSXRayDaemonWriteAccess",
                                                              "/AWSLambdaDynamoDBExecutionRole"))]
            assert not unknown, f"{lid}: managed policies this test cannot read: {unknown}"
            out[lid] = [template.resolve(s) for p in props.get("Policies") or []
                        for s in _listify(p["PolicyDocument"]["Statement"])]
    return out


def function_grants(doc: dict[str, Any]) -> tuple[Grants, dict[str, dict[str, set[str]]]]:
    """(function -> table -> actions, every role -> table -> actions) of a transformed template."""
    template = as_template(doc)
    roles = {lid: dynamodb_grants(statements, template) for lid, statements in role_statements(doc, template).items()}
    functions = {}
    for lid, res in doc["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            role = res["Properties"]["Role"]["Fn::GetAtt"][0]
            functions[lid] = roles[role]
    return functions, roles


def declared_usage() -> Grants:
    doc = yaml.safe_load(DECLARED.read_text())
    profiles: dict[str, dict[str, list[str]]] = doc["profiles"]
    out: Grants = {}
    for function, entries in doc["functions"].items():
        tables: dict[str, set[str]] = out.setdefault(function, {})
        for entry in entries:
            for table, actions in (profiles[entry] if isinstance(entry, str) else entry).items():
                tables.setdefault(table, set()).update(actions)
    return out


def violations(granted: Grants, declared: Grants) -> Iterator[str]:
    """Where the grants differ from the declared usage (reads compared as a class)."""
    for function in sorted(set(granted) | set(declared)):
        if function not in declared:
            yield f"{function}: not declared in {DECLARED.name}"
            continue
        for table in sorted(set(granted.get(function, {})) | set(declared[function])):
            held = granted.get(function, {}).get(table, set())
            used = declared[function].get(table, set())
            extra = sorted(a for a in held if not is_read(a) and a not in used)
            if extra:
                yield f"{function} holds {extra} on {table}, which its code never does"
            if any(is_read(a) for a in held) and "read" not in used:
                yield f"{function} may read {table}, which its code never reads"
            missing = sorted(a for a in used if a != "read" and a not in held)
            if missing or ("read" in used and not any(is_read(a) for a in held)):
                yield f"{function} lacks {missing or ['read']} on {table}, which its code needs"


def money_table_violations(roles: dict[str, dict[str, set[str]]]) -> Iterator[str]:
    for role, tables in sorted(roles.items()):
        for table in (LEDGER, ACCOUNTS):
            bad = sorted(a for a in tables.get(table, set()) if not is_read(a) and a not in _MONEY_SAFE)
            if table == LEDGER:
                bad += sorted(a for a in tables.get(table, set()) if a == "UpdateItem")
            if bad:
                yield f"{role} may {bad} on {table}"


# --- the checks on template.yaml ------------------------------------------------------------------------------
def test_every_function_holds_exactly_the_dynamodb_access_its_code_makes() -> None:
    granted, _ = function_grants(transformed())
    assert list(violations(granted, declared_usage())) == []


def test_ledger_and_accounts_tables_are_never_deletable_and_the_ledger_is_append_only() -> None:
    _, roles = function_grants(transformed())
    assert list(money_table_violations(roles)) == []
    assert any(LEDGER in tables for tables in roles.values())  # the check saw the money-moving roles


def test_the_local_stack_enforces_the_same_grants_as_sam() -> None:
    # Given the grants the local stack derives from Policies (local_stack/iam.py) and SAM's own roles
    granted, _ = function_grants(transformed())
    template = Template()
    # Then they agree, function by function: what the tests were allowed to do is what AWS will allow
    for function in template.of_type("AWS::Serverless::Function"):
        local = dynamodb_grants(iam.function_statements(template, function), template)
        assert local == granted[function], function


# --- the check is real ----------------------------------------------------------------------------------------
def _with_policy(function: str, policy: dict[str, Any]) -> dict[str, Any]:
    doc = load_yaml(TEMPLATE)
    doc["Resources"][function]["Properties"]["Policies"].append(policy)
    return transform(doc)


def test_crud_on_the_ledger_again_fails_both_checks() -> None:
    # Given someone grants DynamoDBCrudPolicy on the ledger to the transfer function again
    doc = _with_policy("CreateTransferFunction", {"DynamoDBCrudPolicy": {"TableName": {"Ref": LEDGER}}})
    granted, roles = function_grants(doc)
    # Then the usage check and the money-table check both name it
    found = list(violations(granted, declared_usage()))
    assert any("CreateTransferFunction holds" in v and "DeleteItem" in v and LEDGER in v for v in found), found
    assert any("CreateTransferFunctionRole may" in v and "DeleteItem" in v for v in money_table_violations(roles))


@pytest.mark.parametrize("policy", [
    {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]},
    {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:Delete*"], "Resource": {"Fn::GetAtt": [ACCOUNTS, "Arn"]}}]},
    {"DynamoDBWritePolicy": {"TableName": {"Ref": ACCOUNTS}}},  # BatchWriteItem can delete items
])
def test_wildcards_and_batch_writes_on_money_tables_are_caught(policy: dict[str, Any]) -> None:
    _, roles = function_grants(_with_policy("GetMyAccountFunction", policy))
    assert any(v.startswith("GetMyAccountFunctionRole may") for v in money_table_violations(roles))


def test_a_table_the_function_never_touches_is_caught() -> None:
    doc = _with_policy("GetGroupFunction", {"DynamoDBReadPolicy": {"TableName": {"Ref": "IdentityTable"}}})
    granted, _ = function_grants(doc)
    assert list(violations(granted, declared_usage())) == [
        "GetGroupFunction may read IdentityTable, which its code never reads"]
