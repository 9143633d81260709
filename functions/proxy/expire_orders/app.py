"""Scheduled (EventBridge Schedule): expire open proxy orders past their expiry and release their holds."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.settings import ProxySettings

SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    expired = wiring.execution(SETTINGS).expire_due()
    metrics.add_metric(name="ProxyOrdersExpired", unit="Count", value=expired)
    logger.info("proxy order sweep", extra={"expired": expired})
    return {"expired": expired}
