"""Binding saga step: (task token) park the request AWAITING_BANK until the bank confirms or rejects."""

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
    assert step.task_token and step.confirm_timeout_seconds
    wiring.steps(SETTINGS).await_bank(step.binding_request_id, step.task_token, step.confirm_timeout_seconds)
    return {}
