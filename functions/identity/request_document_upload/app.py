"""POST /identity-verifications/{verification_id}/documents: a presigned POST for the credential upload."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.schemas import error_responses
from shared.identity.schemas import DocumentUploadRequest, DocumentUploadResponse, VerificationIdStr
from shared.identity.settings import IdentitySettings
from shared.identity.wiring import verification_service
from shared.observability import logger, metrics, tracer

app = build_resolver()
SETTINGS = IdentitySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/identity-verifications/<verification_id>/documents",
    status_code=201,
    summary="Get an upload form (presigned POST: content type and size enforced) for the credential",
    responses=error_responses(400, 401, 404, 409, 422),
    middlewares=[idempotent(required=False)],
    tags=["identity"],
)
def request_document_upload(verification_id: Annotated[VerificationIdStr, Path()],
                            request: DocumentUploadRequest) -> DocumentUploadResponse:
    ticket = verification_service(SETTINGS).request_upload(current_caller(app).sub, verification_id,
                                                           request.content_type, request.credential_number,
                                                           request.valid_until)
    return DocumentUploadResponse(**ticket.model_dump())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
