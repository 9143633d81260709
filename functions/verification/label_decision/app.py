"""POST /admin/verification-decisions/{verification_id}/feedback: label a decision FRAUD or LEGITIMATE (admin,
reviewer; never a party to it). The feasibility model's training reads the labels."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.schemas import FeedbackRequest, FeedbackResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/verification-decisions/<verification_id>/feedback",
    summary="Label a verification decision FRAUD or LEGITIMATE (admin or reviewer, not a party to it)",
    responses=error_responses(400, 401, 403, 404, 409, 422),
    middlewares=[idempotent(required=True)],
    tags=["admin"],
)
def label_decision(verification_id: Annotated[str, Path(max_length=64)], request: FeedbackRequest) -> FeedbackResponse:
    reviewer = current_caller(app).require("admin", "reviewer")
    return FeedbackResponse.of(wiring.feedback(SETTINGS).label(reviewer.sub, verification_id, request.label,
                                                               request.note))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
