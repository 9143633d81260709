"""GET /reviews?status=OPEN: the human review queue (reviewer role)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.identity.schemas import ReviewItem, ReviewsResponse
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import review_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/reviews", summary="Open reviews, oldest first (reviewer)", responses=error_responses(400, 401, 403, 422),
         tags=["reviews"])
def list_reviews(
    status: Annotated[Literal["OPEN"], Query()] = "OPEN",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    next_token: Annotated[str | None, Query(max_length=1024)] = None,
) -> ReviewsResponse:
    current_caller(app).require("reviewer")
    views, token = review_service(SETTINGS).open_reviews(limit, next_token)
    return ReviewsResponse(items=[ReviewItem.of(v) for v in views], next_token=token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
