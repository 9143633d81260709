"""Binding saga step: the signed callback with the account id (retried with back-off by the state machine)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.binding import wiring
from shared.binding.schemas import StepInput
from shared.binding.settings import BindingSettings
from shared.observability import logger, metrics, tracer

SETTINGS = BindingSettings.load()  # at import: a misconfigured function fails its cold start


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    step = StepInput.model_validate(event)
    return wiring.steps(SETTINGS).notify_bank(step.binding_request_id)
