"""What a partner bank does with binding requests: create one (starts the saga), read it, confirm or reject it."""

from __future__ import annotations

import contextlib
import json
import secrets

from botocore.exceptions import BotoCoreError, ClientError

from shared.binding.cards import card_fingerprint, mask_name
from shared.binding.errors import (
    AlreadyBound,
    BindingNotAwaitingBank,
    BindingRequestNotFound,
    ConfirmationMismatch,
    ConfirmationTooLate,
)
from shared.binding.models import (
    Binding,
    BindingRequest,
    CardType,
    FailureReason,
    Partner,
    RequestStatus,
)
from shared.binding.services.base import BindingBase
from shared.binding.services.holders import holder_context
from shared.errors import TemporarilyUnavailable
from shared.identity_numbers import mask_id_number
from shared.observability import logger


def name_context(request_id: str) -> dict[str, str]:
    return {"binding_request_id": request_id, "field": "name"}


def id_number_context(request_id: str) -> dict[str, str]:
    return {"binding_request_id": request_id, "field": "id_number"}


class BindingRequestService(BindingBase):
    def create(self, partner: Partner, phone: str, name: str, id_number: str, card_token: str, card_last4: str,
               card_type: CardType, card_expiry: str | None, bank_customer_ref: str) -> tuple[BindingRequest, bool]:
        """The new request (True), or the partner's open request for the same customer reference and card
        (False). Starts the saga for a new one."""
        now = self.clock()
        request_id = f"br_{secrets.token_hex(12)}"
        fingerprint = card_fingerprint(self.deps.hasher, partner.partner_id, card_token)
        ref = self.deps.hasher.keyed_hash("customer-ref", f"{partner.partner_id}\x1f{bank_customer_ref}")[:32]
        request = BindingRequest(
            binding_request_id=request_id, partner_id=partner.partner_id, bank_customer_ref=bank_customer_ref,
            phone=phone, name_masked=mask_name(name),
            name_encrypted=self.deps.cipher.encrypt(name.encode(), name_context(request_id)),
            id_hash=self.deps.hasher.id_number_hash(id_number), id_masked=mask_id_number(id_number),
            id_encrypted=self.deps.cipher.encrypt(id_number.encode(), id_number_context(request_id)),
            card_fingerprint=fingerprint, card_last4=card_last4, card_type=card_type, card_expiry=card_expiry,
            inflight_key=f"INFLIGHT#{partner.partner_id}#{ref}#{fingerprint}", created_at=now, updated_at=now)
        stored = self.store.create_request(request, events=[self.request_event("BindingRequested", request)])
        if stored.binding_request_id != request_id:
            if stored.status is RequestStatus.REGISTERING:
                # A crash between the put and the start (the client retries) would leave it unstarted forever:
                # start it again; executions are named by the request id, so a running one is not started twice.
                try:
                    self._start(stored.binding_request_id)
                except (BotoCoreError, ClientError) as exc:
                    raise TemporarilyUnavailable("The binding could not be started; retry.") from exc
            return stored, False
        try:
            self._start(request_id)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("binding saga did not start", extra={"binding_request_id": request_id,
                                                                 "error": type(exc).__name__})
            failed = request.model_copy(update={"status": RequestStatus.FAILED, "reason": FailureReason.WORKFLOW_ERROR,
                                                "id_encrypted": None, "version": request.version + 1,
                                                "updated_at": self.clock()})
            self.store.update_request(failed, [RequestStatus.REGISTERING.value], release_inflight=True,
                                      events=[self.request_event("BindingFailed", failed)])
            raise TemporarilyUnavailable("The binding could not be started; retry.") from exc
        return request, True

    def _start(self, request_id: str) -> None:
        payload = {"binding_request_id": request_id,
                   "confirm_timeout_seconds": self.settings.binding_confirmation_timeout_seconds}
        self.deps.workflow.start(request_id, json.dumps(payload))

    def get(self, partner_id: str, request_id: str) -> BindingRequest:
        request = self.store.get_request(request_id)
        if request is None or request.partner_id != partner_id:  # another partner's request does not exist
            raise BindingRequestNotFound(binding_request_id=request_id)
        return request

    def _awaiting(self, partner_id: str, request_id: str) -> BindingRequest:
        request = self.get(partner_id, request_id)
        if request.status is RequestStatus.FAILED and request.reason is FailureReason.ALREADY_BOUND:
            raise AlreadyBound(binding_request_id=request_id)
        if request.status is not RequestStatus.AWAITING_BANK or not request.task_token:
            raise BindingNotAwaitingBank(status=request.status.value,
                                         reason=request.reason.value if request.reason else None)
        return request

    def confirm(self, partner_id: str, request_id: str, account_id: str, card_token: str) -> BindingRequest:
        """The bank performed its binding with the account id it was given: record the binding (the card claim is
        put once; a card bound elsewhere answers ``AlreadyBound`` and fails the request) and resume the saga."""
        request = self.get(partner_id, request_id)
        fingerprint = card_fingerprint(self.deps.hasher, partner_id, card_token)
        if request.binding_id and request.status is not RequestStatus.FAILED:
            if request.account_id == account_id and request.card_fingerprint == fingerprint:
                self._resume_again(request)
                return request  # the same confirmation again
            raise BindingNotAwaitingBank(status=request.status.value)
        request = self._awaiting(partner_id, request_id)
        token = request.task_token
        assert token is not None
        if account_id != request.account_id or fingerprint != request.card_fingerprint:
            self.deps.workflow.fail(token, "ConfirmationMismatch", "confirmation names another account or card")
            raise ConfirmationMismatch(binding_request_id=request_id)
        partner = self.partner(partner_id)
        assert request.owner is not None and request.account_id is not None
        binding_id = f"bnd_{secrets.token_hex(12)}"
        binding = Binding(binding_id=binding_id, binding_request_id=request_id,
                          owner=request.owner, account_id=request.account_id, partner_id=partner_id,
                          partner_name=partner.name, card_fingerprint=fingerprint, card_last4=request.card_last4,
                          card_type=request.card_type, id_hash=request.id_hash,
                          holder_id_encrypted=self._holder_id(request, binding_id), created_at=self.clock())
        confirmed = request.model_copy(update={"binding_id": binding.binding_id, "version": request.version + 1,
                                               "updated_at": self.clock()})
        try:
            self.store.update_request(confirmed, [RequestStatus.AWAITING_BANK.value],
                                      writes=self.store.claim_card_writes(binding),
                                      events=[self.request_event("BindingConfirmed", confirmed)])
        except AlreadyBound:
            self.deps.workflow.fail(token, "AlreadyBound", "the card is bound to another account")
            raise
        except BindingNotAwaitingBank as exc:
            raise ConfirmationTooLate(binding_request_id=request_id) from exc
        self.deps.workflow.succeed(token, json.dumps({"binding_id": binding.binding_id}))
        return confirmed

    def _resume_again(self, request: BindingRequest) -> None:
        """The same confirmation again while the saga still waits: the first one committed the binding but may not
        have resumed the saga (a crash before ``SendTaskSuccess``); resuming twice is harmless (the token is spent:
        the first one did it)."""
        if request.status is not RequestStatus.AWAITING_BANK or not request.task_token:
            return
        with contextlib.suppress(ConfirmationTooLate):
            self.deps.workflow.succeed(request.task_token, json.dumps({"binding_id": request.binding_id}))

    def _holder_id(self, request: BindingRequest, binding_id: str) -> str | None:
        """The card holder's ID number sealed again for the binding (context: binding id + owner): §5 reads it."""
        if request.id_encrypted is None or request.owner is None:
            return None
        number = self.deps.cipher.decrypt(request.id_encrypted, id_number_context(request.binding_request_id))
        return self.deps.cipher.encrypt(number, holder_context(binding_id, request.owner))

    def reject(self, partner_id: str, request_id: str, reason: str) -> BindingRequest:
        """Fail the saga's wait with ``BankRejected`` (it compensates). The same rejection again (a bank retrying
        after a crash between the failure and the answer) answers the request: already FAILED ``BANK_REJECTED``,
        or still waiting with its token spent and no binding (the saga is compensating)."""
        request = self.get(partner_id, request_id)
        if request.status is RequestStatus.FAILED and request.reason is FailureReason.BANK_REJECTED:
            return request
        request = self._awaiting(partner_id, request_id)
        assert request.task_token is not None
        if request.binding_id:  # confirmed: the token resumed the saga, which activates
            raise BindingNotAwaitingBank(status=request.status.value)
        # The bank's free-text reason is not copied into the execution (it may name the customer).
        try:
            self.deps.workflow.fail(request.task_token, "BankRejected", "the bank rejected the binding")
        except ConfirmationTooLate:
            if request.binding_id or self.request(request_id).binding_id:
                raise
        return request
