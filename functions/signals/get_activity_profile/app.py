"""GET /me/activity-profile: what the platform holds about the caller's behaviour (never watch-list tags)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.signals.schemas import ActivityProfileResponse
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_service

app = build_resolver()
SETTINGS = SignalsSettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/me/activity-profile", summary="The caller's activity profile: devices, places, sign-ins, activity",
         responses=error_responses(401), tags=["signals"])
def get_activity_profile() -> ActivityProfileResponse:
    return ActivityProfileResponse.of(signals_service(SETTINGS).profile(current_caller(app).sub))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
