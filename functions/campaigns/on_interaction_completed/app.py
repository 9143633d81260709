"""EventBridge ``InteractionCompleted`` (trusted source): record the interaction, granting one claim right.

A malformed event or one for a closed / unknown campaign is dropped with a log line (retrying cannot fix it);
infrastructure errors raise so EventBridge retries (the interaction id makes the retry grant nothing twice).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.campaigns.schemas import InteractionCompletedEvent
from shared.campaigns.settings import CampaignSettings
from shared.campaigns.wiring import claim_service
from shared.errors import DomainError, TemporarilyUnavailable
from shared.observability import logger, metrics, tracer

SETTINGS = CampaignSettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, Any]:
    try:
        parsed = InteractionCompletedEvent.model_validate(event)
    except ValidationError as exc:
        logger.error("malformed InteractionCompleted event dropped", extra={"errors": exc.error_count()})
        return {"granted": False, "reason": "INVALID_EVENT"}
    d = parsed.detail
    try:
        granted = claim_service(SETTINGS).record_interaction(d.campaign_id, d.user_id, d.interaction_type,
                                                             d.interaction_id)
    except TemporarilyUnavailable:
        raise
    except DomainError as exc:
        logger.warning("InteractionCompleted event refused", extra={"error_code": exc.code})
        return {"granted": False, "reason": exc.code}
    metrics.add_metric(name="InteractionsRecorded", unit="Count", value=1 if granted else 0)
    return {"granted": granted}
