"""External systems of the ledger other than DynamoDB: none.

The ledger calls no other service; its only storage is ``repository.py``. Its one event,
``TransferCompleted``, is not published from here: the repository writes it into the transfer's own
transaction (the transactional outbox, ``shared/outbox.py``) and ``PublishLedgerEventsFunction`` publishes it
from the Ledger table's stream. (Kept so every capability package has the same files; see
docs/architecture.md.)
"""
