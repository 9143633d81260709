"""Step Functions task: automated checks of the uploaded credential (the file; the registry, the credential and
fingerprint indexes, validity) and their decision: reject, approve or review (shared/identity/checks.py)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.identity.schemas import StepInput
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import workflow_steps
from shared.observability import logger, metrics, tracer

SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return workflow_steps(SETTINGS).check_document(StepInput.model_validate(event).verification_id)
