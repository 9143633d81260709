"""One OpenAPI document for the whole API: each function's Powertools schema, merged by ``OpenAPIMerge``.

The functions to include are the template's functions with ``Api`` events, so a
route cannot be deployed without being documented (a test checks the converse).
Request examples that name demo records (``local_stack.demo_data.OPENAPI_EXAMPLES``) are added here,
not in the request models: demo data stays out of the production layer.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from local_stack.demo_data import OPENAPI_EXAMPLES
from local_stack.functions import FunctionRegistry

DESCRIPTION = (
    "Server side of the wallet. Every route needs `Authorization: Bearer <token>` (Cognito ID token on AWS; "
    "locally `POST /local/token {\"sub\": ..., \"groups\": [...]}`). Every route that moves money, consumes a "
    "right or creates an object requires `Idempotency-Key` (see each operation's parameters). "
    "Errors: `{\"error\": {\"code\", \"message\", \"details\"}}`."
)


def build_openapi(registry: FunctionRegistry, title: str = "Wallet platform API", version: str = "1.0.0") -> dict:
    merger = OpenAPIMerge(
        title=title,
        version=version,
        description=DESCRIPTION,
        security=[{"bearer": []}],
        on_conflict="error",
    )
    keys: dict[tuple[str, str], bool] = {}
    docs: list[tuple[str, dict[str, Any]]] = []
    for lid, spec in sorted(registry.specs.items()):
        if not spec.routes:
            continue
        registry.handler(lid)  # import (cold start) under the function's environment
        app = getattr(sys.modules[spec.module_name], "app", None)
        if app is None or not hasattr(app, "get_openapi_json_schema"):
            continue
        docs.append((_capability(spec.module_name), json.loads(app.get_openapi_json_schema())))
        keys.update(_idempotency_keys(app))
    for function_doc in _distinct_component_names(docs):
        merger.add_schema(function_doc)
    doc: dict[str, Any] = merger.get_openapi_schema()
    for (path, method), required in keys.items():
        operation = doc.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation.setdefault("parameters", []).append(_key_parameter(required))
    doc["paths"] = dict(sorted(doc.get("paths", {}).items()))
    doc.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    schemas = doc["components"].get("schemas", {})
    for (schema, prop), examples in OPENAPI_EXAMPLES.items():
        if prop in schemas.get(schema, {}).get("properties", {}):
            schemas[schema]["properties"][prop]["examples"] = examples
    return json.loads(json.dumps(doc))


def _capability(module_name: str) -> str:
    """``functions.<capability>.<operation>.app`` -> ``<capability>``."""
    parts = module_name.split(".")
    return parts[1] if len(parts) > 2 else parts[0]


def _distinct_component_names(docs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each function's document, with every component schema name that two capabilities define differently
    qualified by its capability (``identity.VerificationResponse``, ``verification.VerificationResponse``).

    Each function's schema names its models by class name; merged, two capabilities' ``VerificationResponse``
    (or ``Status`` enums) would be one component, and every route but one would document another capability's
    model (found by the schema fuzzing). Raises if one capability has two different models of one name."""
    defined: dict[str, dict[str, set[str]]] = {}  # name -> capability -> definitions (JSON)
    for capability, doc in docs:
        for name, definition in doc.get("components", {}).get("schemas", {}).items():
            defined.setdefault(name, {}).setdefault(capability, set()).add(json.dumps(definition, sort_keys=True))
    same_capability = {n: c for n, by in defined.items() for c, d in by.items() if len(d) > 1}
    if same_capability:
        raise ValueError(f"component schemas defined twice, differently, in one capability: {same_capability}")
    clashing = {n for n, by in defined.items() if len({d for defs in by.values() for d in defs}) > 1}
    out = []
    for capability, doc in docs:
        text = json.dumps(doc)
        for name in clashing & set(doc.get("components", {}).get("schemas", {})):
            text = text.replace(f'"#/components/schemas/{name}"', f'"#/components/schemas/{capability}.{name}"')
        renamed = json.loads(text)
        schemas = renamed.get("components", {}).get("schemas", {})
        for name in clashing & set(schemas):
            schemas[f"{capability}.{name}"] = schemas.pop(name)
        out.append(renamed)
    return out


def _idempotency_keys(app: Any) -> dict[tuple[str, str], bool]:
    """(path, method) -> whether the route requires ``Idempotency-Key`` (routes with ``shared.api.idempotent``)."""
    out = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        for middleware in route.middlewares or ():
            required = getattr(middleware, "idempotency_key_required", None)
            if required is not None:
                out[(route.openapi_path, route.method.lower())] = bool(required)
    return out


def _key_parameter(required: bool) -> dict[str, Any]:
    return {
        "name": "Idempotency-Key", "in": "header", "required": required,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "A replay with the same key and body returns the first response (Idempotent-Replayed: true); "
                       "the same key with another body is 422 IDEMPOTENCY_KEY_REUSED."
                       + (" Required: without it, 400 IDEMPOTENCY_KEY_REQUIRED." if required else " Optional."),
    }
