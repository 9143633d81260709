"""Step Functions task: record the final status, reasons and (when verified) the identity tag."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.identity.schemas import RecordOutcomeInput
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import workflow_steps
from shared.observability import logger, metrics, tracer

SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = RecordOutcomeInput.model_validate(event)
    o = request.outcome
    metrics.add_metric(name=f"IdentityVerification{o.status.value.title()}", unit="Count", value=1)
    return workflow_steps(SETTINGS).record_outcome(request.verification_id, o.status, o.reason, o.detail,
                                                   o.valid_until)
