"""The binding saga's steps (``statemachines/binding.asl.json``); each is idempotent under Step Functions retries.

Find the account by phone (identity check) -> register if absent (PENDING_BINDING) -> await the bank (task token;
the signed callback goes out in parallel) -> activate (binding active, account active, first-use gate up).
``compensate`` undoes this request's own work on any failure: a confirmed but unactivated binding and its card
claim are removed, an account this request opened and nobody used is closed (its phone and owner claims
released), a gate this binding set on an existing account is lifted; the request ends FAILED with its reason.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta
from typing import Any

from shared.binding import signatures
from shared.binding.errors import BindingNotAwaitingBank
from shared.binding.models import (
    BindingRequest,
    CustomerIdentity,
    FailureReason,
    PartnerStatus,
    RequestStatus,
)
from shared.binding.services.base import BindingBase
from shared.binding.signatures import CALLBACK_KEY_SUFFIX
from shared.identity_numbers import contains_pan
from shared.ledger.errors import AccountAlreadyExists, PhoneInUse
from shared.ledger.models import AccountStatus
from shared.observability import logger


class NotReady(Exception):
    """The waiting task has not recorded its token yet (retried by the state machine)."""


class CallbackFailed(Exception):
    """The bank's callback endpoint did not answer 2xx (retried with back-off, then the bank polls)."""


def registered_account_id(request_id: str) -> str:
    """The account id a request registers: derived, so a retried registration finds the account it opened. Never
    PAN-like (a Luhn-valid run of 13+ digits, ~0.2 % of hex digests): the partner API refuses card numbers in
    every field, so such an id could be neither read back nor confirmed (found by the crash tests, issue 14)."""
    for salt in itertools.count():
        seed = request_id if salt == 0 else f"{request_id}#{salt}"
        candidate = "acc_b" + hashlib.sha256(seed.encode()).hexdigest()[:31]
        if not contains_pan(candidate):
            return candidate
    raise AssertionError("unreachable")


class BindingSteps(BindingBase):
    def _advance(self, request: BindingRequest, expected: RequestStatus, event: str | None = None,
                 **changes: Any) -> BindingRequest:
        """The request's next version, with its ``event`` (if any) in the same transaction."""
        updated = request.model_copy(update={**changes, "version": request.version + 1, "updated_at": self.clock()})
        self.store.update_request(updated, [expected.value],
                                  events=[self.request_event(event, updated)] if event else ())
        return updated

    def _failed(self, reason: FailureReason) -> dict[str, Any]:
        return {"outcome": "FAILED", "reason": reason.value}

    def _record_identity(self, request: BindingRequest, owner: str) -> None:
        self.store.put_identity_if_absent(CustomerIdentity(
            owner=owner, id_hash=request.id_hash, id_masked=request.id_masked, name_masked=request.name_masked,
            verified=False, source=f"BANK:{request.partner_id}", recorded_at=self.clock()))

    # --- 1. find the customer's account -------------------------------------------
    def find_account(self, request_id: str) -> dict[str, Any]:
        request = self.request(request_id)
        if request.status is not RequestStatus.REGISTERING:
            return {"outcome": "CONTINUE"}
        if request.account_id:  # a retry after the step had recorded its answer
            return {"outcome": "REGISTERED" if request.created_account else "FOUND"}
        if self.partner(request.partner_id).status is PartnerStatus.SUSPENDED:
            return self._failed(FailureReason.PARTNER_SUSPENDED)
        if self.store.card_claim(request.partner_id, request.card_fingerprint):
            return self._failed(FailureReason.ALREADY_BOUND)
        account = self.deps.accounts.store.find_account_by_phone(request.phone)
        if account is None:
            return {"outcome": "ABSENT"}
        if account.status is AccountStatus.PENDING_BINDING:
            return self._failed(FailureReason.ACCOUNT_PENDING)
        if account.status is not AccountStatus.ACTIVE:
            return self._failed(FailureReason.ACCOUNT_NOT_USABLE)
        verified = self.deps.real_names.verified_id_hash(account.owner)
        if verified is not None and verified != request.id_hash:
            return self._failed(FailureReason.IDENTITY_MISMATCH)
        if verified is None:
            self._record_identity(request, account.owner)  # unverified: first-use strong verification covers it
        self._advance(request, RequestStatus.REGISTERING, account_id=account.account_id, owner=account.owner,
                      created_account=False)
        return {"outcome": "FOUND"}

    # --- 2. register the customer --------------------------------------------------
    def register(self, request_id: str) -> dict[str, Any]:
        request = self.request(request_id)
        if request.status is not RequestStatus.REGISTERING or request.account_id:
            return {"outcome": "REGISTERED"}
        owner = self.deps.directory.ensure_user(request.phone)
        try:
            account = self.deps.accounts.register_for_binding(registered_account_id(request_id), owner,
                                                              request.phone)
        except AccountAlreadyExists:
            return self._failed(FailureReason.ACCOUNT_CONFLICT)
        except PhoneInUse:
            return self._failed(FailureReason.ACCOUNT_PENDING)
        self._record_identity(request, owner)
        self._advance(request, RequestStatus.REGISTERING, "BindingAccountRegistered", account_id=account.account_id,
                      owner=owner, created_account=True)
        return {"outcome": "REGISTERED"}

    # --- 3a. wait for the bank (task token) ----------------------------------------
    def await_bank(self, request_id: str, task_token: str, timeout_seconds: int) -> None:
        request = self.request(request_id)
        confirm_by = self.clock() + timedelta(seconds=timeout_seconds)
        if request.status is RequestStatus.REGISTERING:
            self._advance(request, RequestStatus.REGISTERING, "BindingAwaitingBank", status=RequestStatus.AWAITING_BANK,
                          task_token=task_token, confirm_by=confirm_by)
        elif request.status is RequestStatus.AWAITING_BANK and not request.binding_id:  # a retried step
            self._advance(request, RequestStatus.AWAITING_BANK, task_token=task_token, confirm_by=confirm_by)

    # --- 3b. tell the bank the account id (signed callback) ------------------------
    def notify_bank(self, request_id: str) -> dict[str, Any]:
        request = self.request(request_id)
        if request.status is RequestStatus.REGISTERING:
            raise NotReady(request_id)
        if request.status is not RequestStatus.AWAITING_BANK or request.binding_id or request.callback_delivered:
            return {"delivered": request.callback_delivered}
        partner = self.partner(request.partner_id)
        if partner.status is PartnerStatus.SUSPENDED:
            return {"delivered": False}
        key = partner.current_key
        from shared.binding.services.partners import key_context

        secret = self.deps.secrets_cipher.decrypt(key.encrypted_secret, key_context(partner.partner_id, key.key_id))
        body = json.dumps({"binding_request_id": request.binding_request_id, "status": request.status.value,
                           "account_id": request.account_id, "bank_customer_ref": request.bank_customer_ref,
                           "confirm_by": request.confirm_by.isoformat() if request.confirm_by else None},
                          separators=(",", ":")).encode()
        headers = signatures.sign("POST", partner.callback_url, {"Content-Type": "application/json"}, body,
                                  key.key_id + CALLBACK_KEY_SUFFIX, secret)
        try:
            status = self.deps.callbacks.send(partner.callback_url, body, headers)
        except OSError as exc:
            logger.info("binding callback not delivered", extra={"binding_request_id": request_id,
                                                                  "error": type(exc).__name__})
            raise CallbackFailed(type(exc).__name__) from exc
        if not 200 <= status < 300:
            logger.info("binding callback refused", extra={"binding_request_id": request_id, "status": status})
            raise CallbackFailed(str(status))
        self.store.mark_callback_delivered(request_id)
        return {"delivered": True}

    # --- 4. activate ------------------------------------------------------------------
    def _project_bound(self, request: BindingRequest) -> None:
        """A BOUND request's binding into the profile (again, on a retry: the write is idempotent)."""
        binding = self.store.get_binding(request.binding_id) if request.binding_id else None
        if binding is not None:
            self.project(binding)

    def activate(self, request_id: str) -> dict[str, Any]:
        request = self.request(request_id)
        if request.status is RequestStatus.BOUND:
            self._project_bound(request)
            return {"outcome": "BOUND"}
        if request.status is not RequestStatus.AWAITING_BANK or not request.binding_id or not request.account_id:
            raise BindingNotAwaitingBank(status=request.status.value)
        binding = self.store.get_binding(request.binding_id)
        assert binding is not None, "a confirmed request's binding is written with its confirmation"
        self.deps.accounts.activate_for_binding(request.account_id, binding.binding_id)  # idempotent
        binding = binding.model_copy(update={"activated": True})
        bound = request.model_copy(update={"status": RequestStatus.BOUND, "task_token": None, "id_encrypted": None,
                                           "version": request.version + 1, "updated_at": self.clock()})
        # the binding activated, the request BOUND and their events: one transaction (a retry finds BOUND)
        self.store.update_request(bound, [RequestStatus.AWAITING_BANK.value], release_inflight=True,
                                  writes=[self.store.binding_write(binding)],
                                  events=[self.request_event("BindingBound", bound),
                                          self.binding_event("BindingActivated", binding,
                                                             security_authentication_required=True)])
        self.project(binding)
        return {"outcome": "BOUND", "binding_id": binding.binding_id}

    # --- compensation ------------------------------------------------------------------
    def compensate(self, request_id: str, reason: str) -> dict[str, Any]:
        try:
            why = FailureReason(reason)
        except ValueError:
            why = FailureReason.WORKFLOW_ERROR
        for _ in range(5):  # the request may change under us (a late confirmation): re-read and re-decide
            request = self.request(request_id)
            if request.status is RequestStatus.BOUND:
                self._project_bound(request)
                return {"outcome": "BOUND"}
            if request.status is RequestStatus.FAILED:
                return {"outcome": "FAILED", "reason": request.reason.value if request.reason else why.value}
            binding = self.store.get_binding(request.binding_id) if request.binding_id else None
            if binding is not None:  # the request never became BOUND: its binding goes, whatever step it reached
                self.store.remove_pending_binding(binding)
            account_id = request.account_id or registered_account_id(request_id)
            if request.created_account or request.account_id is None:
                self.deps.accounts.close_unused(account_id, f"BINDING_{why.value}", request.binding_id)
            elif request.account_id and request.binding_id:
                self.deps.accounts.clear_security_auth(request.account_id, request.binding_id)
            failed = request.model_copy(update={"status": RequestStatus.FAILED, "reason": why, "task_token": None,
                                                "id_encrypted": None,
                                                "version": request.version + 1, "updated_at": self.clock()})
            try:
                self.store.update_request(failed, [request.status.value], release_inflight=True,
                                          events=[self.request_event("BindingFailed", failed)])
            except BindingNotAwaitingBank:
                continue
            return {"outcome": "FAILED", "reason": why.value}
        raise BindingNotAwaitingBank(status="changing")
