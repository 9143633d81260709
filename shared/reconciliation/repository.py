"""DynamoDB data access of reconciliation: none of its own.

Reconciliation owns no table and writes nothing. It reads the accounts and ledger tables through the ledger's
``LedgerAudit``, open withdrawals through proxy's ``HoldsService`` and pot records through campaigns'
``CampaignService`` (``ports.py``), which keep their items' shapes to themselves. (Kept so every capability
package has the same files; see docs/architecture.md.)
"""
