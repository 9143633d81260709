"""Step Functions task (waitForTaskToken): park the verification until the user submits a document."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.identity.schemas import AwaitDocumentInput
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import workflow_steps
from shared.observability import logger, metrics, tracer

SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = AwaitDocumentInput.model_validate(event)
    return workflow_steps(SETTINGS).await_document(request.verification_id, request.task_token, request.reason)
