"""Scheduled (EventBridge Schedule, template parameter ReconciliationRate): check the ledger's invariants, publish
one metric per invariant (alarmed on) and log every difference that persisted on its re-check."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.campaigns.settings import CampaignSettings
from shared.observability import logger, metrics, tracer
from shared.proxy.settings import ProxySettings
from shared.reconciliation import wiring
from shared.reconciliation.schemas import ReconciliationResponse
from shared.reconciliation.settings import ReconciliationSettings

SETTINGS = ReconciliationSettings.load()  # at import: a misconfigured function fails its cold start
PROXY = ProxySettings.load()
CAMPAIGNS = CampaignSettings.load()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = ReconciliationResponse.of(wiring.reconciliation(SETTINGS, PROXY, CAMPAIGNS).run())
    logger.info("reconciliation", extra={"clean": report.clean,
                                         "broken": [i.name for i in report.invariants if not i.ok]})
    return report.model_dump(mode="json")
