"""Binding saga step: activate the account and the binding; the first-use gate goes up."""

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
    result = wiring.steps(SETTINGS).activate(step.binding_request_id)
    metrics.add_metric(name="BindingBound", unit="Count", value=1)
    return result
