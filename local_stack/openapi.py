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
    "locally `POST /local/token {\"sub\": ..., \"groups\": [...]}`). Mutating routes accept `Idempotency-Key`. "
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
    for lid, spec in sorted(registry.specs.items()):
        if not spec.routes:
            continue
        registry.handler(lid)  # import (cold start) under the function's environment
        app = getattr(sys.modules[spec.module_name], "app", None)
        if app is None or not hasattr(app, "get_openapi_json_schema"):
            continue
        merger.add_schema(json.loads(app.get_openapi_json_schema()))
    doc: dict[str, Any] = merger.get_openapi_schema()
    doc["paths"] = dict(sorted(doc.get("paths", {}).items()))
    doc.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    schemas = doc["components"].get("schemas", {})
    for (schema, prop), examples in OPENAPI_EXAMPLES.items():
        if prop in schemas.get(schema, {}).get("properties", {}):
            schemas[schema]["properties"][prop]["examples"] = examples
    return json.loads(json.dumps(doc))
