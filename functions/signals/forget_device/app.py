"""DELETE /me/devices/{device_id}: forget one of the caller's devices (it is no longer trusted)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.signals.schemas import DeviceForgottenResponse, DeviceId
from shared.signals.settings import SignalsSettings
from shared.signals.wiring import signals_service

app = build_resolver()
SETTINGS = SignalsSettings.load()  # at import: a misconfigured function fails its cold start


@app.delete("/me/devices/<device_id>", summary="Forget one of the caller's devices (no longer trusted)",
            responses=error_responses(400, 401, 404, 409, 422), middlewares=[idempotent(required=False)],
            tags=["signals"])
def forget_device(device_id: Annotated[DeviceId, Path()]) -> DeviceForgottenResponse:
    caller = current_caller(app).sub
    key = app.current_event.headers.get(HEADER)
    signals_service(SETTINGS).forget_device(caller, device_id, request_tag(caller, key) if key else None)
    return DeviceForgottenResponse(device_id=device_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
