"""Domain errors of the campaign capability (codes are the API contract; HTTP status comes from the bases)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"
    default_message = "The campaign does not exist."


class VoucherNotFound(NotFound):
    code = "VOUCHER_NOT_FOUND"
    default_message = "The caller holds no such voucher in this campaign."


class CampaignClosed(Conflict):
    code = "CAMPAIGN_CLOSED"
    default_message = "The campaign is closed (drawing or settled); vouchers no longer move."


class NoInteraction(Conflict):
    code = "NO_INTERACTION"
    default_message = "No unused claim: complete one of the campaign's interactions first."


class VoucherNotHeld(Conflict):
    code = "VOUCHER_NOT_HELD"
    default_message = "The voucher is not held (already passed on or consumed)."


class KeyUserAlreadyClaimed(Conflict):
    code = "KEY_USER_ALREADY_CLAIMED"
    default_message = "The key-user voucher of this campaign was already claimed."


class NotKeyUser(Forbidden):
    code = "NOT_KEY_USER"
    default_message = "Only a group's creator (its key user) may claim a key-user voucher."


class UnknownInteractionType(InvalidInput):
    code = "INTERACTION_TYPE_NOT_ACCEPTED"
    default_message = "This campaign does not grant claims for this interaction type."


class InvalidDrawTime(InvalidInput):
    code = "INVALID_DRAW_TIME"
    default_message = "draw_at must be a future ISO-8601 UTC time."


class CampaignLimitExceeded(LimitExceeded):
    """A per-user anti-farming limit; ``details.limit`` names it."""

    code = "CAMPAIGN_LIMIT_EXCEEDED"
    default_message = "A per-user campaign limit was reached."


class ClaimsPerDayExceeded(CampaignLimitExceeded):
    code = "CLAIMS_PER_DAY_EXCEEDED"
    default_message = "The daily claim limit of this campaign was reached; try again tomorrow (UTC)."


class PassesPerDayExceeded(CampaignLimitExceeded):
    code = "PASSES_PER_DAY_EXCEEDED"
    default_message = "The daily pass-on limit of this campaign was reached; try again tomorrow (UTC)."


class HeldPerKindExceeded(CampaignLimitExceeded):
    code = "HELD_PER_KIND_EXCEEDED"
    default_message = "The caller already holds the maximum number of vouchers of every kind that could be given."


class DrawNotReady(Conflict):
    code = "DRAW_NOT_READY"
    default_message = "The draw cannot run in the campaign's current state."


class VoucherNotTransferable(Conflict):
    code = "VOUCHER_NOT_TRANSFERABLE"
    default_message = "A group-shared (key-user) voucher belongs to its group and cannot be passed on."
