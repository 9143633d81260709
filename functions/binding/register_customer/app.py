"""Binding saga step: register the customer (user directory + PENDING_BINDING account), once per request."""

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
    return wiring.steps(SETTINGS).register(step.binding_request_id)
