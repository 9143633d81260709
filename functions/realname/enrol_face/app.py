"""PUT /me/face: enrol the caller's reference face (selfie + liveness) for §4's FACE method; the embedding is
stored envelope-encrypted, the image is not kept."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.face.api import image_body_limit
from shared.face.schemas import EnrolFaceRequest, FaceEnrolmentResponse
from shared.face.settings import FaceApiSettings
from shared.face.wiring import enrolment_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = FaceApiSettings.load()  # at import: a misconfigured function fails its cold start


@app.put(
    "/me/face",
    summary="Enrol my reference face (selfie + answered liveness challenge); replaces a previous one",
    responses=error_responses(400, 401, 404, 409, 413, 422),
    middlewares=[image_body_limit(SETTINGS), idempotent()],
    tags=["real-name"],
)
def enrol_face(request: EnrolFaceRequest) -> FaceEnrolmentResponse:
    caller = current_caller(app).sub
    enrolment = enrolment_service(SETTINGS).enrol(
        caller, request.liveness.challenge_id, request.liveness.frame_bytes(SETTINGS),
        request.selfie_bytes(SETTINGS), request=request_tag(caller, app.current_event.headers[HEADER]))
    metrics.add_metric(name="FaceEnrolled", unit="Count", value=1)
    return FaceEnrolmentResponse.of(enrolment)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
