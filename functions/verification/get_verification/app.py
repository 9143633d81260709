"""GET /verifications/{verification_id}: the caller's own decision, its reasons and state."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import VerificationResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/verifications/<verification_id>", summary="The caller's verification: decision, reasons, state",
         responses=error_responses(401, 404, 422), tags=["verification"])
def get_verification(verification_id: Annotated[str, Path(max_length=64)]) -> VerificationResponse:
    return VerificationResponse.of(wiring.decisions(SETTINGS).get(current_caller(app).sub, verification_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
