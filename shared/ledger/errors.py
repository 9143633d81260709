"""Domain errors of accounts and the ledger (SPEC §1). No HTTP: ``shared.api.errors`` maps them."""

from __future__ import annotations

from shared.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound


class InvalidAmount(InvalidInput):
    code = "INVALID_AMOUNT"
    default_message = "The amount is not valid."


class UnsupportedCurrency(InvalidInput):
    code = "UNSUPPORTED_CURRENCY"
    default_message = "The currency is not supported."


class SameAccountTransfer(InvalidInput):
    code = "SAME_ACCOUNT"
    default_message = "Debit and credit account must differ."


class AccountNotPayable(InvalidInput):
    code = "ACCOUNT_NOT_PAYABLE"
    default_message = "The account cannot receive this payment: it is a platform account."


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    default_message = "The account does not exist."


class AccountAlreadyExists(AlreadyExists):
    code = "ACCOUNT_EXISTS"
    default_message = "The caller already has a payment account."


class InsufficientFunds(Conflict):
    code = "INSUFFICIENT_FUNDS"
    default_message = "The account balance is too low for this amount."


class AccountFrozen(Conflict):
    code = "ACCOUNT_FROZEN"
    default_message = "The account is not active."


class CurrencyMismatch(Conflict):
    code = "CURRENCY_MISMATCH"
    default_message = "The amount's currency differs from the account's currency."


class DuplicateTransaction(Conflict):
    code = "DUPLICATE_TRANSACTION"
    default_message = "This transaction id was already used for a different transfer."


class PhoneInUse(AlreadyExists):
    code = "PHONE_IN_USE"
    default_message = "This phone number belongs to another payment account."


class SecurityAuthenticationRequired(Forbidden):
    code = "SECURITY_AUTHENTICATION_REQUIRED"
    default_message = ("A card was bound to this account by a bank: pass a verification for BINDING_FIRST_USE "
                       "before the first operation.")


class SecurityAuthenticationNotRequired(Conflict):
    code = "SECURITY_AUTHENTICATION_NOT_REQUIRED"
    default_message = "The account's first-use gate is not up (for this binding)."


class AccountNotPending(Conflict):
    code = "ACCOUNT_NOT_PENDING"
    default_message = "The account is not waiting for a binding."
