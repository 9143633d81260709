"""External systems of the ledger other than DynamoDB: none.

The ledger publishes no events and calls no other service; its only storage
is ``repository.py``. (Kept so every capability package has the same files;
see docs/architecture.md.)
"""
