"""POST /sessions: a sign-in from a device (recorded in the caller's activity profile; a new device is untrusted,
and a new or untrusted one gets adaptive verification's LOGIN decision, SPEC §4)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER
from shared.api.schemas import error_responses
from shared.binding.settings import BindingSettings
from shared.face.settings import FaceApiSettings
from shared.observability import logger, metrics, tracer
from shared.signals.models import ClientInfo
from shared.signals.schemas import SessionResponse, SignInRequest
from shared.signals.settings import SignalsSettings
from shared.verification.settings import VerificationSettings
from shared.verification.wiring import sign_ins

app = build_resolver()
SETTINGS = SignalsSettings.load()  # at import: a misconfigured function fails its cold start
VERIFICATION = VerificationSettings.load()
FACE = FaceApiSettings.load()  # the LOGIN decision offers FACE to a user with a reference face
BINDING = BindingSettings.load()  # ... and CARD to one with a bound card


@app.post("/sessions", status_code=201, summary="Sign in from a device (call at every sign-in)",
          responses=error_responses(400, 401, 409, 422, 503), middlewares=[idempotent(required=True)],
          tags=["signals"])
def create_session(request: SignInRequest) -> SessionResponse:
    caller = current_caller(app)
    client = ClientInfo(os=request.client.os, app_version=request.client.app_version,
                        emulator=request.client.emulator, rooted=request.client.rooted)
    session = sign_ins(SETTINGS, VERIFICATION, FACE, BINDING).sign_in(
        caller.sub, request.device_id, request.network, client,
        lat=request.geo.lat if request.geo else None, lon=request.geo.lon if request.geo else None,
        source_ip=app.current_event.request_context.identity.source_ip,
        request_key=app.current_event.headers[HEADER])
    metrics.add_metric(name="SignInNewDevice" if session.new_device else "SignInKnownDevice", unit="Count", value=1)
    if session.decision is not None:
        metrics.add_metric(name=f"SignInDecision{session.decision.decision.title().replace('_', '')}", unit="Count",
                           value=1)
    return SessionResponse.of(session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
