"""HTTP edge used only by face routes' handlers: the body limit of requests that carry images."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.face.errors import ImageTooLarge
from shared.face.settings import FaceApiSettings


def image_body_limit(settings: FaceApiSettings) -> Callable[[APIGatewayRestResolver, NextMiddleware], Response]:
    """A body over ``face_max_body_bytes`` (5 MB: API Gateway/Lambda payload limits, CONTRACTS.md) is
    ``413 IMAGE_TOO_LARGE`` before anything is decoded, consumed or stored."""

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        body = app.current_event.body or ""
        if len(body) > settings.face_max_body_bytes:
            raise ImageTooLarge(f"The request body is larger than {settings.face_max_body_bytes} bytes.",
                                limit_bytes=settings.face_max_body_bytes)
        return next_middleware(app)

    return middleware
