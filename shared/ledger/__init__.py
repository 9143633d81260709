"""Accounts and the double-entry ledger (SPEC §1): every capability moves money through here."""
