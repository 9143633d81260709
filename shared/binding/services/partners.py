"""Partner banks: the admin's operations (create, rotate keys, suspend, reinstate) and the authentication of every
partner request (RFC 9421 signature, key ownership and expiry, nonce)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.binding import signatures
from shared.binding.errors import (
    InvalidCallbackUrl,
    KeyExpired,
    KeyNotPartners,
    NotAPartner,
    PartnerChanged,
    PartnerSuspended,
)
from shared.binding.models import Partner, PartnerKey, PartnerStatus
from shared.binding.services.base import BindingBase, binding_event
from shared.errors import AlreadyExists
from shared.outbox import OutboxEvent

MAX_KEYS = 5


def key_context(partner_id: str, key_id: str) -> dict[str, str]:
    return {"partner_id": partner_id, "key_id": key_id}


def _derived(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def derived_partner_id(admin: str, request_key: str) -> str:
    """A partner's id from the admin and the request's Idempotency-Key: a retried creation finds its partner."""
    return f"ptn_{_derived('partner', admin, request_key)[:16]}"


def derived_key_id(partner_id: str, request_key: str) -> str:
    """A rotated key's id from the partner and the request's Idempotency-Key: a retried rotation finds its key."""
    return f"k_{_derived('key', partner_id, request_key)[:16]}"


class PartnerService(BindingBase):
    def _check_callback_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidCallbackUrl() from exc
        insecure = self.settings.binding_allow_insecure_callbacks
        if parts.scheme not in (("https", "http") if insecure else ("https",)) or not parts.hostname \
                or parts.username or parts.password or parts.fragment or port == 0:
            raise InvalidCallbackUrl()
        try:
            ipaddress.ip_address(parts.hostname)
            is_ip = True
        except ValueError:
            is_ip = False
        if is_ip and not insecure:
            raise InvalidCallbackUrl("callback_url must name a host, not an IP address.")

    def _new_key(self, partner_id: str, key_id: str | None = None) -> tuple[PartnerKey, str]:
        secret = secrets.token_bytes(32)
        key_id = key_id or f"k_{secrets.token_hex(8)}"
        encrypted = self.deps.secrets_cipher.encrypt(secret, key_context(partner_id, key_id))
        return PartnerKey(key_id=key_id, encrypted_secret=encrypted, created_at=self.clock()), \
            base64.b64encode(secret).decode()

    def _again(self, partner: Partner, key: PartnerKey) -> tuple[Partner, PartnerKey, str]:
        """What a retried request answers (its first answer was lost: a crash before the idempotency record was
        completed): the same partner and key, the secret opened again."""
        return partner, key, base64.b64encode(self.secret_of(partner, key)).decode()

    def create(self, name: str, callback_url: str, admin: str = "", request_key: str | None = None
               ) -> tuple[Partner, PartnerKey, str]:
        """The new partner, its first key and that key's secret (base64; returned once, stored only encrypted).
        With ``request_key`` (the Idempotency-Key) the partner's id derives from it and the admin, so a retry
        after a crash past the commit answers the partner it created instead of creating a second one."""
        self._check_callback_url(callback_url)
        partner_id = derived_partner_id(admin, request_key) if request_key else f"ptn_{secrets.token_hex(8)}"
        existing = self.deps.partners.get(partner_id) if request_key else None
        if existing is not None:
            first = min(existing.keys.values(), key=lambda k: k.created_at)
            return self._again(existing, first)
        key, secret = self._new_key(partner_id)
        partner = Partner(partner_id=partner_id, name=name, callback_url=callback_url, keys={key.key_id: key},
                          created_at=self.clock())
        try:
            self.deps.partners.put_new(partner, events=[self._event("PartnerCreated", partner, key_id=key.key_id)])
        except AlreadyExists:
            made = self.deps.partners.get(partner_id) if request_key else None
            if made is None:
                raise
            # our own put, committed before its answer was lost (the SDK retried it): answer what it made
            return self._again(made, min(made.keys.values(), key=lambda k: k.created_at))
        return partner, key, secret

    def rotate(self, partner_id: str, request_key: str | None = None) -> tuple[Partner, PartnerKey, str]:
        """A new key; the previous ones stay valid for the grace period (``BINDING_KEY_GRACE_SECONDS``). With
        ``request_key`` the key's id derives from it: a retry after a crash past the commit answers that key."""
        partner = self.partner(partner_id)
        key_id = derived_key_id(partner_id, request_key) if request_key else None
        if key_id is not None and key_id in partner.keys:
            return self._again(partner, partner.keys[key_id])
        now = self.clock()
        grace_until = now + timedelta(seconds=self.settings.binding_key_grace_seconds)
        kept = {kid: k if k.valid_until is not None else k.model_copy(update={"valid_until": grace_until})
                for kid, k in partner.keys.items() if k.usable_at(now)}
        key, secret = self._new_key(partner_id, key_id)
        kept[key.key_id] = key
        newest = dict(sorted(kept.items(), key=lambda kv: kv[1].created_at)[-MAX_KEYS:])
        updated = partner.model_copy(update={"keys": newest, "version": partner.version + 1})
        try:
            self.deps.partners.replace(updated, partner.version,
                                       events=[self._event("PartnerKeyRotated", updated, key_id=key.key_id)])
        except PartnerChanged:
            now_stored = self.partner(partner_id)
            if key_id is None or key_id not in now_stored.keys:
                raise
            return self._again(now_stored, now_stored.keys[key_id])  # our own write, its answer lost
        return updated, key, secret

    def set_status(self, partner_id: str, status: PartnerStatus, reason: str | None = None) -> Partner:
        partner = self.partner(partner_id)
        if partner.status is status:
            return partner
        updated = partner.model_copy(update={"status": status, "suspended_reason": reason,
                                             "version": partner.version + 1})
        kind = "PartnerSuspended" if status is PartnerStatus.SUSPENDED else "PartnerReinstated"
        self.deps.partners.replace(updated, partner.version, events=[self._event(kind, updated)])
        return updated

    def _event(self, detail_type: str, partner: Partner, **extra: Any) -> OutboxEvent:
        """A partner's event: one per version of the partner (created at 1; each rotation, suspension or
        reinstatement is the next)."""
        now = self.clock()
        return binding_event(detail_type, {"partner_id": partner.partner_id, "version": partner.version,
                                           "status": partner.status.value, "occurred_at": now.isoformat(), **extra},
                             now, partner.partner_id, str(partner.version))

    def secret_of(self, partner: Partner, key: PartnerKey) -> bytes:
        return self.deps.secrets_cipher.decrypt(key.encrypted_secret, key_context(partner.partner_id, key.key_id))


class PartnerAuthenticator(PartnerService):
    def authenticate(self, partner_id: str | None, method: str, url: str, headers: Mapping[str, str],
                     body: bytes) -> Partner:
        """The calling partner, once its request's signature, key and nonce checked out (each refusal is a 401
        with its own code; a suspended partner is a 403)."""
        if not partner_id:
            raise NotAPartner()
        partner = self.deps.partners.get(partner_id)
        if partner is None:
            raise NotAPartner("The token's partner id names no partner.")
        if partner.status is PartnerStatus.SUSPENDED:
            raise PartnerSuspended(partner_id=partner_id)
        now = self.clock()

        def key_for(key_id: str) -> bytes:
            key = partner.keys.get(key_id)
            if key is None:
                raise KeyNotPartners()
            if not key.usable_at(now):
                raise KeyExpired()
            return self.secret_of(partner, key)

        max_age = timedelta(seconds=self.settings.binding_signature_max_age_seconds)
        skew = timedelta(seconds=self.settings.binding_signature_skew_seconds)
        verified = signatures.verify(method, url, headers, body, key_for, now, max_age, skew)
        # Kept until the signature could no longer be accepted anyway; the condition checks the expiry.
        self.deps.partners.use_nonce(partner_id, verified.nonce, now, verified.created + max_age + skew)
        return partner
