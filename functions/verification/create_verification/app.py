"""POST /verifications: a verification trigger -> VERIFICATION_FREE, CHALLENGE or DENY, with per-signal reasons."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.auth import DeviceIdHeader, SessionIdHeader, client_context
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.binding.settings import BindingSettings
from shared.face.settings import FaceApiSettings
from shared.observability import logger, metrics, tracer
from shared.verification import wiring
from shared.verification.models import TriggerContext
from shared.verification.schemas import CreateVerificationRequest, VerificationResponse, decode_image
from shared.verification.settings import VerificationSettings

app = build_resolver()
SETTINGS = VerificationSettings.load()  # at import: a misconfigured function fails its cold start
FACE = FaceApiSettings.load()  # the FACE method and face captures (shared/face)
BINDING = BindingSettings.load()  # CARD and the first-use gate (bank binding)


@app.post(
    "/verifications",
    status_code=201,
    summary="Trigger a verification for an operation: decide whether and how to verify, and why",
    responses=error_responses(400, 401, 404, 409, 413, 422, 429),
    middlewares=[idempotent(required=True, secret_fields=("token",))],
    tags=["verification"],
)
def create_verification(request: CreateVerificationRequest, x_session_id: SessionIdHeader = None,
                        x_device_id: DeviceIdHeader = None) -> VerificationResponse:
    client, c = client_context(app), request.context
    ctx = TriggerContext(device_id=c.device_id, network=c.network, geo=c.geo.model_dump() if c.geo else None,
                         amount=c.amount, payee_account_id=c.payee_account_id, session_id=client.session_id,
                         header_device_id=client.device_id, source_ip=client.source_ip, supplied_phone=c.phone,
                         caller_phone=client.caller_phone)
    face = decode_image(c.face_image) if c.face_image else None
    decisions = wiring.decisions(SETTINGS, FACE, BINDING)
    verification, token = decisions.trigger(current_caller(app).sub, request.operation, ctx, face,
                                            idempotency_key=app.current_event.headers[HEADER])
    metrics.add_metric(name=f"Verification{verification.outcome.decision.title().replace('_', '')}",
                       unit="Count", value=1)
    return VerificationResponse.of(verification, token.token if token else None,
                                   token.expires_at if token else None)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
