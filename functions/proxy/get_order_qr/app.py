"""GET /proxy-orders/{order_id}/qr: the order code as a scannable QR image (SVG or PNG; requester only)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.qr import CONTENT_TYPES, QrFormat, render
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/proxy-orders/<order_id>/qr", summary="QR image of the order's code (requester only)",
         responses={200: {"description": "The QR image (`format`: SVG or PNG)",
                          "content": {"image/svg+xml": {"schema": {"type": "string"}},
                                      "image/png": {"schema": {"type": "string", "format": "binary"}}}},
                    **error_responses(401, 404, 409, 422)},
         tags=["proxy"])
def get_order_qr(
    order_id: Annotated[str, Path(max_length=64)],
    format: Annotated[QrFormat, Query()] = QrFormat.SVG,
    scale: Annotated[int, Query(ge=1, le=20)] = 8,
):  # unannotated on purpose: Powertools would JSON-validate (utf-8 decode) the image body
    code = wiring.requester_orders(SETTINGS).code_for(current_caller(app).sub, order_id)
    return Response(status_code=200, content_type=CONTENT_TYPES[format], body=render(code, format, scale),
                    headers={"Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
