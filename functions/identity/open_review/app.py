"""Step Functions task (waitForTaskToken): put the verification in the human review queue."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.identity.schemas import OpenReviewInput
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import workflow_steps
from shared.observability import logger, metrics, tracer

SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = OpenReviewInput.model_validate(event)
    return workflow_steps(SETTINGS).open_review(request.verification_id, request.task_token, request.checks,
                                                request.findings)
