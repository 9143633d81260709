"""Masked parties for receipts and events: who paid whom, without exposing full ids or names.

Uses Powertools Data Masking (``erase`` with per-field rules): account ids keep
their prefix and last 4 characters (``acc_****3f2a``), display names keep their
first character (``L*******``), user ids are erased.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_masking import DataMasking

from shared.proxy.models import ProxyOrder

_ACCOUNT = {"regex_pattern": r"^([a-z]{2,4}_).*(.{4})$", "mask_format": r"\1****\2"}
_NAME = {"regex_pattern": r"^(.).*$", "mask_format": r"\1*******"}
_RULES = {
    "requester.account_id": _ACCOUNT,
    "proxy.account_id": _ACCOUNT,
    "proxy.display_name": _NAME,
}


@lru_cache(maxsize=1)
def _masker() -> DataMasking:
    return DataMasking(raise_on_missing_field=False)


def mask_parties(parties: dict[str, Any]) -> dict[str, Any]:
    """``{"requester": {"account_id"}, "proxy": {"account_id", "display_name"}}`` with every field masked."""
    present = {path: rule for path, rule in _RULES.items() if _get(parties, path) is not None}
    if not present:
        return parties
    masked: dict[str, Any] = _masker().erase(parties, masking_rules=present)
    return masked


def order_parties(order: ProxyOrder) -> dict[str, Any]:
    """Both parties of an order, masked (receipts and order views)."""
    proxy: dict[str, Any] = {"account_id": order.proxy_account_id, "is_agent": order.proxy_is_agent,
                             "display_name": order.proxy_display_name}
    return mask_parties({"requester": {"account_id": order.owner_account_id}, "proxy": proxy})


def mask_account(account_id: str | None) -> str | None:
    if account_id is None:
        return None
    return str(mask_parties({"requester": {"account_id": account_id}})["requester"]["account_id"])


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
