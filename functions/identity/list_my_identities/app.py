"""GET /me/identities: the caller's identity tags with their validity."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.identity.schemas import IdentitiesResponse, IdentityTagResponse
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import verification_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/me/identities", summary="The caller's identity tags (expired ones have valid=false)",
         responses=error_responses(401), tags=["identity"])
def list_my_identities() -> IdentitiesResponse:
    tags = verification_service(SETTINGS).my_identities(current_caller(app).sub)
    return IdentitiesResponse(items=[IdentityTagResponse.of(tag, valid) for tag, valid in tags])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
