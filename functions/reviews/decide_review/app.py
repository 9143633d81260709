"""POST /reviews/{review_id}/decision: approve or reject (reviewer role); resumes the workflow."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.identity.schemas import DecisionRequest, DecisionResponse, ReviewIdStr
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import review_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/reviews/<review_id>/decision",
    summary="Approve or reject a credential under review (reviewer)",
    responses=error_responses(400, 401, 403, 404, 409, 422),
    middlewares=[idempotent(required=False)],
    tags=["reviews"],
)
def decide_review(review_id: Annotated[ReviewIdStr, Path()], request: DecisionRequest) -> DecisionResponse:
    reviewer = current_caller(app).require("reviewer")
    review = review_service(SETTINGS).decide(reviewer.sub, review_id, request.decision, request.reason)
    metrics.add_metric(name=f"IdentityReview{request.decision.value.title()}", unit="Count", value=1)
    return DecisionResponse(review_id=review.review_id, verification_id=review.verification_id,
                            status=review.status, decision=request.decision)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
