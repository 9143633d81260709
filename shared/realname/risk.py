"""Risk and trust detection (CN112836612A, claims on the risk control step), pure functions of the signals
snapshot, the batch-face count and the policy. Every item is evaluated and recorded, hit or not."""

from __future__ import annotations

from shared.realname.models import (
    Assessment,
    Finding,
    RiskItem,
    SignalsSnapshot,
    TrustItem,
)
from shared.realname.policy import LoginRule, Policy


def detect_risk(signals: SignalsSnapshot, same_face_accounts: int, policy: Policy) -> list[Finding]:
    r = policy.risk
    out: list[Finding] = []
    device = signals.device
    flags = [name for name, on in (("EMULATOR", device and device.emulator), ("ROOTED", device and device.rooted))
             if on]
    accounts = device.accounts_on_device if device else 0
    if flags:
        out.append(Finding(item=RiskItem.ABNORMAL_DEVICE, hit=True, detail="_".join(flags)))
    out.append(Finding(item=RiskItem.ABNORMAL_DEVICE, hit=accounts > r.device_max_accounts,
                       detail="MANY_ACCOUNTS", value=accounts, threshold=r.device_max_accounts))
    tags = sorted(set(signals.tags) & set(r.watch_tags))
    out.append(Finding(item=RiskItem.TAGGED_USER, hit=bool(tags), detail="_".join(tags) or "NONE",
                       value=",".join(tags) or None))
    out.append(Finding(item=RiskItem.BATCH_FACE, hit=same_face_accounts >= r.batch_face_min_other_accounts,
                       detail="SAME_FACE_OTHER_ACCOUNTS", value=same_face_accounts,
                       threshold=r.batch_face_min_other_accounts))
    out.append(Finding(item=RiskItem.AREA_CLUSTER, hit=signals.cell_attempts > r.area_max_cell_attempts,
                       detail="CELL_ATTEMPTS", value=signals.cell_attempts, threshold=r.area_max_cell_attempts))
    out.append(Finding(item=RiskItem.AREA_CLUSTER, hit=signals.prefix_attempts > r.area_max_prefix_attempts,
                       detail="IP_PREFIX_ATTEMPTS", value=signals.prefix_attempts,
                       threshold=r.area_max_prefix_attempts))
    return out


def detect_trust(signals: SignalsSnapshot, policy: Policy) -> list[Finding]:
    t = policy.trust
    logins_ok = signals.login_count >= t.min_logins
    contacts_ok = signals.contacts >= t.min_contacts
    login_account = {LoginRule.LOGINS_OR_CONTACTS: logins_ok or contacts_ok,
                     LoginRule.LOGINS_AND_CONTACTS: logins_ok and contacts_ok,
                     LoginRule.LOGINS: logins_ok}[t.login_rule]
    in_known_cell = signals.current_cell is not None and signals.current_cell in signals.known_cells
    in_known_prefix = signals.current_prefix is not None and signals.current_prefix in signals.known_prefixes
    return [
        Finding(item=TrustItem.TRUSTED_LOGIN_ACCOUNT, hit=login_account, detail=t.login_rule,
                value=f"logins={signals.login_count},contacts={signals.contacts}",
                threshold=f"logins>={t.min_logins},contacts>={t.min_contacts}"),
        Finding(item=TrustItem.TRUSTED_TRANSACTIONS, hit=signals.transactions >= t.min_transactions,
                detail="TRANSACTION_COUNT", value=signals.transactions, threshold=t.min_transactions),
        Finding(item=TrustItem.TRUSTED_BINDING, hit=signals.bindings >= t.min_bindings, detail="BINDINGS",
                value=signals.bindings, threshold=t.min_bindings),
        Finding(item=TrustItem.TRUSTED_LOCATION, hit=in_known_cell or in_known_prefix,
                detail="KNOWN_CELL" if in_known_cell else "KNOWN_IP_PREFIX" if in_known_prefix else "UNKNOWN"),
    ]


def assess(signals: SignalsSnapshot, same_face_accounts: int, policy: Policy) -> Assessment:
    risk = detect_risk(signals, same_face_accounts, policy)
    trust = detect_trust(signals, policy)
    risky = any(f.hit for f in risk)
    trusted = all(f.hit for f in trust)
    passed = policy.decide(risky, trusted)
    hits = {RiskItem(f.item) for f in risk if f.hit}
    return Assessment(policy_version=policy.version, policy_mode=policy.mode, risk=tuple(risk), trust=tuple(trust),
                      risky=risky, trusted=trusted, passed=passed,
                      required_fields=() if passed else policy.fields_for(hits), signals_source=signals.source)
