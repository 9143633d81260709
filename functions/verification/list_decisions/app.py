"""GET /admin/verification-decisions?user_id=: a user's verification decisions, newest first (audit)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.errors import InvalidInput
from shared.observability import logger, metrics, tracer
from shared.types import UserId
from shared.verification import wiring
from shared.verification.schemas import DecisionListResponse, DecisionRecordResponse
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/admin/verification-decisions", summary="A user's verification decisions with their reasons (audit)",
         responses=error_responses(400, 401, 403, 422), tags=["admin"])
def list_decisions(user_id: Annotated[UserId | None, Query(description="Required: whose decisions.")] = None,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20,
                   next_token: Annotated[str | None, Query(max_length=512)] = None) -> DecisionListResponse:
    current_caller(app).require("admin", "reviewer")  # the role first: a caller without it learns nothing more
    if user_id is None:
        raise InvalidInput("user_id is required.", field="user_id")
    items, token = wiring.decisions(SETTINGS).audit(user_id, limit, next_token)
    return DecisionListResponse(user_id=user_id, items=[DecisionRecordResponse.record(v) for v in items],
                                next_token=token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
