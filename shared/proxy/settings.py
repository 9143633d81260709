"""Typed configuration of the proxy-mode functions (environment variables from template.yaml).

Proxy mode moves money, so its settings extend the ledger's (``ACCOUNTS_TABLE``, ``LEDGER_TABLE``, currencies
and limits from the template's Globals); ``wiring`` hands ``settings.ledger`` to the ledger's wiring so every
proxy service of a function shares one ledger service.
"""

from __future__ import annotations

from pydantic import Field

from shared.ledger.settings import LedgerSettings


class ProxySettings(LedgerSettings):
    proxy_orders_table: str = Field(min_length=1)
    proxy_agents_table: str = Field(min_length=1)
    # Signing keys: Secrets Manager on AWS (JSON {"active_kid": "k1", "k1": "<secret>", ...}); when
    # PROXY_CODE_KEYS holds that JSON (local/dev), it is used instead and the secret is not read.
    proxy_code_secret_id: str = ""
    proxy_code_keys: str = ""
    proxy_key_cache_seconds: int = Field(default=300, ge=0, le=3600)
    proxy_code_ttl_seconds: int = Field(default=120, ge=1, le=300)  # SPEC: validity <= 5 minutes
    proxy_max_order_amount: int = Field(default=500_000, gt=0)  # 5,000.00 per order
    proxy_daily_amount: int = Field(default=2_000_000, gt=0)  # 20,000.00 per requester per day
    proxy_confirmation_required: bool = False
    proxy_reversal_window_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    proxy_sweep_batch: int = Field(default=200, ge=1, le=1000)
    # Friends (customers who are not agents) may execute withdrawals: the held amount is paid into their own
    # account and they hand over the cash. Template parameters FriendWithdrawals / FriendWithdrawalMaxOrder /
    # FriendWithdrawalDailyLimit; false keeps cash-out agent-only (WITHDRAWAL_REQUIRES_AGENT).
    proxy_friend_withdrawals: bool = True
    proxy_friend_max_order_amount: int = Field(default=100_000, gt=0)  # 1,000.00 per withdrawal
    proxy_friend_daily_amount: int = Field(default=300_000, gt=0)  # 3,000.00 per friend account per UTC day
