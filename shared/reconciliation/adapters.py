"""External systems of reconciliation other than DynamoDB: none. Its findings leave as Powertools metrics
(``shared.observability.metrics``, alarmed on in template.yaml) and log records (account ids, amounts)."""
