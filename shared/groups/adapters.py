"""External systems of groups other than DynamoDB: none.

Group events (source ``wallet.campaigns``, which consumers subscribe to: groups exist for the campaigns' key
users) are not published from here: the store writes each into its change's own transaction (the
transactional outbox, ``shared/outbox.py``) and ``PublishGroupEventsFunction`` publishes them from the Groups
table's stream. (Kept so every capability package has the same files; see docs/architecture.md.)
"""
