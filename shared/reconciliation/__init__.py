"""Reconciliation (issue 9): the ledger's invariants checked on the live tables, on a schedule and on demand."""
