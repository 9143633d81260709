"""A local API Gateway (REST, proxy integration) on 127.0.0.1:3000, built from the template's Api events.

An HTTP request becomes an API Gateway REST proxy event; the route's
authorizer is emulated with local bearer tokens (``POST /local/token``) whose
claims go to ``requestContext.authorizer.claims``; the handler's answer
becomes the HTTP response. Gateway errors use the template's GatewayResponses.
Also serves ``/openapi.json`` and Swagger UI at ``/swagger``.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local_stack import tokens
from local_stack.functions import FunctionRegistry
from local_stack.template import ACCOUNT, REGION, Route, Template
from shared.api.auth import E164

log = logging.getLogger("local_stack.gateway")
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")

SWAGGER_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Wallet API</title>
<link rel="stylesheet" href="/swagger/static/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/swagger/static/swagger-ui-bundle.js"></script><script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});
</script></body></html>"""


class Gateway:
    def __init__(self, template: Template, registry: FunctionRegistry, stage: str | None = None,
                 openapi: Any = None) -> None:
        self.template = template
        self.registry = registry
        self.routes: list[Route] = template.routes()
        self._route_registry: dict[int, FunctionRegistry] = {}  # routes of attached templates
        self.stage = stage or template.parameters.get("Stage", "dev")
        self.gateway_responses = template.gateway_responses()
        self._openapi = openapi
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.callbacks: list[dict[str, Any]] = []  # POST /local/callbacks (a partner's callback URL under make run)

    def add_routes(self, template: Template, registry: FunctionRegistry) -> None:
        """Serve another template's Api events too (``LocalStack.attach``), with that template's functions."""
        added = template.routes()
        for route in added:
            self._route_registry[id(route)] = registry
        self.routes = sorted([*self.routes, *added], key=lambda r: (r.path.count("{"), -len(r.path)))

    # --- server ---------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._server = make_server(host, port, self.wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self._server.host}:{self._server.port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # --- request handling -----------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.handle(request)
        except Exception:  # what API Gateway does when the integration fails (logged)
            log.exception("integration failure")
            response = Response(json.dumps({"message": "Internal server error"}), 502,
                                content_type="application/json")
        return response(environ, start_response)

    def _local_route(self, request: Request) -> Response | None:
        """What only the local gateway serves: tokens, the API document and Swagger UI, the callback sink."""
        path = request.path
        if path == "/local/token" and request.method == "POST":
            return self._token(request)
        if path == "/local/outbox" and request.method == "GET":
            return self._outbox(request)
        if path == "/local/real-name/liveness-frames" and request.method == "POST":
            return self._liveness_frames(request)
        if path == "/openapi.json" and request.method == "GET":
            return Response(json.dumps(self.openapi()), 200, content_type="application/json")
        if path in ("/swagger", "/swagger/") and request.method == "GET":
            return Response(SWAGGER_HTML, 200, content_type="text/html")
        if path.startswith("/swagger/static/") and request.method == "GET":
            return self._swagger_asset(path.removeprefix("/swagger/static/"))
        if path == "/local/callbacks":
            return self._callback_sink(request)
        return None

    def handle(self, request: Request) -> Response:
        local = self._local_route(request)
        if local is not None:
            return local
        path = request.path
        # Served at the root (like a custom domain) and under /<stage>/ (like the execute-api endpoint).
        if path.startswith(f"/{self.stage}/"):
            path = path.removeprefix(f"/{self.stage}")
        route, params = self.match(request.method, path)
        if route is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 404)
        if request.content_length and request.content_length > MAX_BODY:
            return self.gateway_response("REQUEST_TOO_LARGE", 413)
        claims = None
        if route.authorizer:
            claims = self._authorize(request)
            if claims is None:
                return self.gateway_response("UNAUTHORIZED", 401)
        event = self.to_event(request, route, params, claims, path)
        result = self._route_registry.get(id(route), self.registry).invoke(route.function, event)
        return self.from_result(result)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            m = route.regex.match(path)
            if m and route.method in (method, "ANY"):
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    def _authorize(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else header
        if not token:
            return None
        try:
            claims = tokens.verify(token)
        except tokens.InvalidToken:
            return None
        # API Gateway passes claims as strings.
        return {k: v if isinstance(v, str) else str(v) for k, v in claims.items()}

    def to_event(self, request: Request, route: Route, params: dict[str, str],
                 claims: dict[str, Any] | None, resource_path: str | None = None) -> dict[str, Any]:
        """``path`` is the path without the stage; ``requestContext.path`` the path as called (with the stage
        when the stage was in the URL), as API Gateway sets them; API Gateway adds the X-Forwarded-* headers."""
        resource_path = resource_path or request.path
        raw = request.get_data(cache=False)
        content_type = request.headers.get("Content-Type", "")
        body: str | None
        is_b64 = False
        if not raw:
            body = None
        elif not content_type or content_type.startswith(TEXT_TYPES):
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                body, is_b64 = base64.b64encode(raw).decode(), True
        else:
            body, is_b64 = base64.b64encode(raw).decode(), True
        port = (request.server or ("", None))[1]
        forwarded = {"X-Forwarded-Proto": request.scheme, "X-Forwarded-Port": str(port or ""),
                     "X-Forwarded-For": request.remote_addr or "127.0.0.1"}
        incoming = [(k, v) for k, v in request.headers.items() if k.lower() not in {f.lower() for f in forwarded}]
        headers = {**dict(incoming), **forwarded}
        mv_headers: dict[str, list[str]] = {}
        for k, v in [*incoming, *forwarded.items()]:
            mv_headers.setdefault(k, []).append(v)
        query = {k: v[-1] for k, v in request.args.lists()} or None
        mv_query = {k: list(v) for k, v in request.args.lists()} or None
        context: dict[str, Any] = {
            "accountId": ACCOUNT,
            "apiId": "local",
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": quote(request.path),
            "stage": self.stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": request.host,
            "identity": {"sourceIp": request.remote_addr or "127.0.0.1",
                         "userAgent": request.headers.get("User-Agent")},
        }
        if claims is not None:
            context["authorizer"] = {"claims": claims}
        return {
            "resource": route.path,
            "path": resource_path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": mv_headers or None,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": mv_query,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": is_b64,
        }

    @staticmethod
    def from_result(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            raise ValueError("malformed Lambda proxy response")
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = Response(data, int(result["statusCode"]))
        response.headers.clear()
        for k, v in (result.get("headers") or {}).items():
            response.headers[k] = str(v)
        for k, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(k)
            for v in values:
                response.headers.add(k, str(v))
        return response

    def gateway_response(self, kind: str, default_status: int) -> Response:
        spec = self.gateway_responses.get(kind) or {}
        status = int(spec.get("StatusCode", default_status))
        body = (spec.get("ResponseTemplates") or {}).get("application/json") or json.dumps({"message": kind})
        return Response(body, status, content_type="application/json")

    # --- local-only endpoints ---------------------------------------------------
    def _token(self, request: Request) -> Response:
        """``{"sub", "groups"?, "partner_id"?, "phone_number"?}`` -> a token; ``{"phone_number"}`` alone -> the
        token of the user whose account holds that phone (how a customer a bank registered signs in), 404 if
        none (CONTRACTS.md)."""
        try:
            data = json.loads(request.get_data() or b"{}")
            sub, groups, phone = data.get("sub"), data.get("groups", []), data.get("phone_number")
            if not isinstance(data, dict) or not isinstance(groups, list) \
                    or not all(isinstance(g, str) for g in groups) \
                    or (phone is not None and not (isinstance(phone, str) and E164.match(phone))) \
                    or (sub is None and phone is None) or (sub is not None and (not isinstance(sub, str) or not sub)):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            body = {"error": {"code": "VALIDATION_ERROR", "details": {},
                              "message": 'Body must be {"sub": "<user id>", "groups": ["admin", ...], '
                                         '"phone_number": "+86..."} or {"phone_number": "+86..."}'}}
            return Response(json.dumps(body), 422, content_type="application/json")
        if sub is None:
            sub = self.phone_owner(str(phone))
            if sub is None:
                body = {"error": {"code": "NOT_FOUND", "details": {}, "message": "No account holds this phone."}}
                return Response(json.dumps(body), 404, content_type="application/json")
        token = tokens.issue(sub, groups, data.get("partner_id"), phone_number=phone)
        return Response(json.dumps({"token": token}), 200, content_type="application/json")

    def _outbox(self, request: Request) -> Response:
        """``GET /local/outbox?phone=+86...``: the SMS messages (one-time codes) the functions sent to ``phone``
        through SNS, newest first, as the emulator recorded them (a person reads their code here locally)."""
        phone = request.args.get("phone", "")
        if not E164.match(phone):
            body = {"error": {"code": "VALIDATION_ERROR", "details": {},
                              "message": "Query parameter phone must be an E.164 number, e.g. ?phone=%2B8613800000001"}}
            return Response(json.dumps(body), 422, content_type="application/json")
        return Response(json.dumps({"phone": phone, "messages": sms_outbox(phone)}), 200,
                        content_type="application/json")

    def _liveness_frames(self, request: Request) -> Response:
        """LOCAL ONLY: ``{"challenge_id", "face_image"}`` -> ``{"frames": [...]}``, base64 JPEGs that answer the
        stored challenge's steps, synthesised from the still photo (``local_stack/face_frames.py``: a 2D-photo
        replay that active liveness cannot tell from a real head turn, which is why it exists only here)."""
        from shared.face.encoding import decode_base64_image
        from shared.face.errors import FaceQualityError, ImageTooLarge, NotAnImage

        def error(status: int, code: str, message: str) -> Response:
            body = {"error": {"code": code, "message": message, "details": {}}}
            return Response(json.dumps(body), status, content_type="application/json")

        try:
            data = json.loads(request.get_data() or b"{}")
            challenge_id, image = data["challenge_id"], data["face_image"]
            if not isinstance(challenge_id, str) or not isinstance(image, str) or len(challenge_id) > 64:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return error(422, "VALIDATION_ERROR", 'Body must be {"challenge_id": "...", "face_image": "<base64>"}')
        steps = self.challenge_steps(challenge_id)
        if steps is None:
            return error(404, "CHALLENGE_NOT_FOUND", "No such liveness challenge.")
        from local_stack.face_frames import liveness_frames

        try:
            frames = liveness_frames(decode_base64_image(image, max_encoded=2 * 1024 * 1024), steps)
        except (NotAnImage, ImageTooLarge, FaceQualityError) as exc:
            return error(413 if isinstance(exc, ImageTooLarge) else 400 if isinstance(exc, NotAnImage) else 422,
                         exc.code, exc.message)
        return Response(json.dumps({"frames": [base64.b64encode(f).decode() for f in frames]}), 200,
                        content_type="application/json")

    def challenge_steps(self, challenge_id: str) -> list[str] | None:
        """The steps of a stored liveness challenge, read from the emulator's FaceTable (None if unknown)."""
        import boto3

        if "FaceTable" not in self.template.resources:
            return None
        ddb = boto3.client("dynamodb")
        item = ddb.get_item(TableName=self.template.physical_name("FaceTable"),
                            Key={"pk": {"S": f"CHALLENGE#{challenge_id}"}}, ConsistentRead=True).get("Item")
        return [s["S"] for s in item["steps"]["L"]] if item and "steps" in item else None

    def _callback_sink(self, request: Request) -> Response:
        """A partner callback URL for `make run`: POST records the signed callback, GET lists what arrived."""
        if request.method == "POST":
            self.callbacks.append({"headers": dict(request.headers), "body": request.get_data(as_text=True)})
            del self.callbacks[:-100]
            return Response("", 204)
        return Response(json.dumps({"items": self.callbacks}), 200, content_type="application/json")

    def phone_owner(self, phone: str) -> str | None:
        """The user whose account holds ``phone`` (the ledger's put-once phone claim), read from the emulator."""
        import boto3

        table = next((self.template.physical_name(lid) for lid in self.template.of_type("AWS::DynamoDB::Table")
                      if lid == "AccountsTable"), None)
        if table is None:
            return None
        ddb = boto3.client("dynamodb")
        item = ddb.get_item(TableName=table, Key={"pk": {"S": f"PHONE#{phone}"}}, ConsistentRead=True).get("Item")
        if not item or "owner" not in item or item.get("released", {}).get("BOOL"):  # released: changed away or closed
            return None
        return str(item["owner"]["S"])

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            from local_stack.openapi import build_openapi

            self._openapi = build_openapi(self.registry)
        return self._openapi  # type: ignore[no-any-return]

    @staticmethod
    def _swagger_asset(name: str) -> Response:
        import swagger_ui_bundle

        base = Path(swagger_ui_bundle.swagger_ui_path).resolve()
        target = (base / name).resolve()
        if base not in target.parents or not target.is_file():
            return Response("not found", 404)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Response(target.read_bytes(), 200, content_type=ctype)


def sms_outbox(phone: str) -> list[dict[str, str]]:
    """SMS messages the emulated SNS published to ``phone`` (newest first)."""
    from moto.sns.models import sns_backends

    sent = sns_backends[ACCOUNT][REGION].sms_messages
    return [{"message_id": mid, "text": text} for mid, (to, text) in reversed(list(sent.items())) if to == phone]
