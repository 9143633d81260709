"""GET /admin/reconciliation: check the ledger's invariants on the live tables now (admin)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.campaigns.settings import CampaignSettings
from shared.observability import logger, metrics, tracer
from shared.proxy.settings import ProxySettings
from shared.reconciliation import wiring
from shared.reconciliation.schemas import ReconciliationResponse
from shared.reconciliation.settings import ReconciliationSettings

app = build_resolver()
SETTINGS = ReconciliationSettings.load()  # at import: a misconfigured function fails its cold start
PROXY = ProxySettings.load()
CAMPAIGNS = CampaignSettings.load()


@app.get("/admin/reconciliation", summary="Check every ledger invariant now; differences that persist are named "
                                          "(admin)", responses=error_responses(401, 403), tags=["admin"])
def get_reconciliation() -> ReconciliationResponse:
    current_caller(app).require("admin")
    return ReconciliationResponse.of(wiring.reconciliation(SETTINGS, PROXY, CAMPAIGNS).run())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
