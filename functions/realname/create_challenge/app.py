"""POST /real-name/challenges: a random, short-lived, single-use liveness challenge bound to the caller
(used by real-name sessions, face enrolment and §4's FACE method)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.face.schemas import ChallengeResponse
from shared.face.settings import FaceApiSettings
from shared.face.wiring import challenge_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = FaceApiSettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/real-name/challenges",
    status_code=201,
    summary="A liveness challenge: head movements to film, one frame per step (single use, short-lived)",
    responses=error_responses(400, 401, 422),
    middlewares=[idempotent()],
    tags=["real-name"],
)
def create_challenge() -> ChallengeResponse:
    challenge = challenge_service(SETTINGS).issue(current_caller(app).sub)
    metrics.add_metric(name="LivenessChallengeIssued", unit="Count", value=1)
    return ChallengeResponse.of(challenge)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
