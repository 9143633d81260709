"""Other systems risk signals read: the ledger's accounts, group memberships, the IP reputation lists."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path

from shared.groups.service import GroupService
from shared.ledger.models import AccountKind
from shared.ledger.ports import LedgerStore
from shared.signals.errors import InvalidIpAddress
from shared.signals.geo import ip_prefix
from shared.signals.models import AccountRef, IpReputation

DEFAULT_IP_LISTS = Path(__file__).with_name("ip_lists.json")


class LedgerAccounts:
    """``AccountDirectory`` over the ledger's store port. An account's owner and kind never change, so
    lookups by id are cached per container (bounded)."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.by_id = lru_cache(maxsize=20_000)(self._by_id)  # type: ignore[method-assign]

    def _by_id(self, account_id: str) -> AccountRef | None:
        account = self.store.get_account(account_id)
        if account is None:
            return None
        return AccountRef(account_id=account.account_id, owner=account.owner, created_at=account.created_at,
                          is_customer=account.kind is AccountKind.CUSTOMER)

    def by_id(self, account_id: str) -> AccountRef | None:  # replaced by the cached lookup in __init__
        return self._by_id(account_id)

    def of_user(self, user_id: str) -> AccountRef | None:
        account = self.store.find_account_by_owner(user_id)
        if account is None:
            return None
        return AccountRef(account_id=account.account_id, owner=account.owner, created_at=account.created_at,
                          is_customer=account.kind is AccountKind.CUSTOMER)


class GroupMemberships:
    """``Memberships`` over the groups capability's service."""

    def __init__(self, groups: GroupService) -> None:
        self.groups = groups

    def group_count(self, user_id: str) -> int:
        return self.groups.group_count(user_id)


class CidrReputation:
    """``IpReputationList`` from a JSON file in the layer: ``{"version", "lists": {CATEGORY: [CIDR, ...]}}``,
    checked with the standard library's ``ipaddress`` (the longest lists have a few thousand ranges: a
    linear scan per sign-in is microseconds; a production feed of millions would get a sorted interval
    search here, same interface)."""

    def __init__(self, path: Path = DEFAULT_IP_LISTS) -> None:
        raw = json.loads(path.read_text())
        self.version = str(raw.get("version", ""))
        self.networks = [(category, ipaddress.ip_network(cidr, strict=False))
                         for category, cidrs in raw["lists"].items() for cidr in cidrs]

    def lookup(self, ip: str) -> IpReputation:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise InvalidIpAddress() from None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        categories = sorted({c for c, net in self.networks if address.version == net.version and address in net})
        return IpReputation(ip_prefix=ip_prefix(str(address)), categories=tuple(categories), list_version=self.version)
