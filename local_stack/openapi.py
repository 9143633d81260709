"""One OpenAPI document for the whole API, merged from every function's Powertools resolver."""

from __future__ import annotations

import json
from typing import Any

from local_stack.functions import FunctionRegistry


def build_openapi(registry: FunctionRegistry, title: str = "Wallet platform API", version: str = "1.0.0") -> dict:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Every route except /local/* needs `Authorization: Bearer <token>`."},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
    for lid, spec in sorted(registry.specs.items()):
        if not spec.routes:
            continue
        registry.handler(lid)  # import (cold start) under the function's environment
        import sys

        app = getattr(sys.modules[spec.module_name], "app", None)
        if app is None or not hasattr(app, "get_openapi_schema"):
            continue
        schema = json.loads(app.get_openapi_json_schema())
        for path, ops in schema.get("paths", {}).items():
            doc["paths"].setdefault(path, {}).update(ops)
        doc["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    doc["paths"] = dict(sorted(doc["paths"].items()))
    return doc
