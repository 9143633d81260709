"""Caller parsing, error registry, settings, log redaction."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import ValidationError

from shared import errors
from shared.api.auth import caller_from_event, parse_groups
from shared.api.errors import STATUS_BY_ERROR, status_for
from shared.ledger import errors as ledger_errors
from shared.ledger.settings import LedgerSettings
from shared.observability import REDACTED, RedactingFormatter, redact


@pytest.mark.parametrize("raw,expected", [
    (None, set()), ("", set()), ("admin", {"admin"}), ("admin,reviewer", {"admin", "reviewer"}),
    ("[admin reviewer]", {"admin", "reviewer"}), (["partner"], {"partner"}),
])
def test_groups_in_every_authorizer_format(raw: object, expected: set[str]) -> None:
    assert parse_groups(raw) == expected


def test_caller_only_from_authorizer_claims() -> None:
    event = {"requestContext": {"authorizer": {"claims": {"sub": "u1", "cognito:groups": "admin",
                                                          "custom:partner_id": "bank-9"}}},
             "body": json.dumps({"sub": "attacker"})}
    caller = caller_from_event(event)
    assert (caller.sub, caller.groups, caller.partner_id) == ("u1", frozenset({"admin"}), "bank-9")
    with pytest.raises(errors.Unauthenticated):
        caller_from_event({"requestContext": {}, "body": json.dumps({"sub": "u1"})})
    with pytest.raises(errors.Forbidden):
        caller_from_event({"requestContext": {"authorizer": {"claims": {"sub": "u"}}}}).require("admin")


def test_every_domain_error_maps_to_a_4xx_or_503() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls] + [s for c in cls.__subclasses__() for s in subclasses(c)]

    for cls in subclasses(errors.DomainError):
        status = status_for(cls())
        assert 400 <= status < 500 or status == 503, cls
    assert STATUS_BY_ERROR[errors.Conflict] == 409
    assert status_for(ledger_errors.InsufficientFunds()) == 409
    assert status_for(ledger_errors.AccountNotFound()) == 404


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        LedgerSettings.from_env({"ACCOUNTS_TABLE": "", "LEDGER_TABLE": "l"})
    s = LedgerSettings.from_env({"ACCOUNTS_TABLE": "a", "LEDGER_TABLE": "l", "SUPPORTED_CURRENCIES": "CNY,USD"})
    assert s.currencies == {"CNY", "USD"}


def test_personal_data_never_reaches_the_log() -> None:
    record = {"message": "bind card 6222020200112233445 for phone 13800138000",
              "user": {"name": "Li Lei", "id_number": "110101199003077777", "ok": "x"},
              "items": [{"card_number": "6222020200112233445"}],
              "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    out = redact(record)
    text = json.dumps(out)
    for secret in ("6222020200112233445", "13800138000", "Li Lei", "110101199003077777"):
        assert secret not in text
    assert out["user"]["name"] == REDACTED and out["user"]["ok"] == "x"
    assert out["function_arn"] == record["function_arn"]

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger("redaction-test")
    log.addHandler(handler)
    log.propagate = False
    log.warning("phone 13800138000", extra={"phone": "13800138000"})
    assert "13800138000" not in stream.getvalue()
