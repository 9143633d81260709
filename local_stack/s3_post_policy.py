"""S3 POST policies, enforced locally: a browser-form upload outside its presigned policy is refused.

moto 5.2.5 stores whatever a form POST sends (any size, any content type, any key). S3 checks the form
against the base64 ``policy`` document the presigner signed. This WSGI middleware sits in front of moto
and does the same for every ``multipart/form-data`` POST:

* the signature fields are present (SigV4: ``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``,
  ``x-amz-signature``; SigV2: ``AWSAccessKeyId``, ``signature``) and there is a ``policy`` - the
  signature itself is not verified (the emulator accepts any credentials);
* the policy has not expired;
* every condition holds: ``{"field": value}`` and ``["eq", "$field", value]`` (exact),
  ``["starts-with", "$field", prefix]``, ``bucket`` against the bucket posted to, ``key`` after
  ``${filename}`` substitution, ``["content-length-range", min, max]`` against the file's size;
* every form field except ``file``, ``policy``, the signature and ``x-ignore-*`` is covered by a
  condition.

A refusal is S3's XML error with S3's status: ``AccessDenied`` 403 ("Invalid according to Policy: ..."),
``EntityTooLarge`` / ``EntityTooSmall`` 400, ``InvalidArgument`` 400 for a missing field. An accepted
form is passed on to moto unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

_SIGV4 = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_SIGV2 = ("awsaccesskeyid", "signature")
_EXEMPT = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}


class PolicyRefused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def check_post(bucket: str, fields: dict[str, str], filename: str, size: int,
               now: datetime | None = None) -> None:
    """Raise ``PolicyRefused`` as S3 would for this form (field names are case-insensitive)."""
    fields = {k.lower(): v for k, v in fields.items()}
    conditions = _policy_conditions(fields, now)
    values = {**fields, "bucket": bucket}
    if "key" in values:
        values["key"] = values["key"].replace("${filename}", filename)
    covered: set[str] = set()
    size_range: tuple[int, int] | None = None
    for condition in conditions:
        size_range = _apply_condition(condition, values, covered) or size_range
    extra = [k for k in fields if k not in covered and k not in _EXEMPT and not k.startswith("x-ignore-")]
    if extra:
        raise PolicyRefused(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}")
    if size_range is not None:
        _check_size(size, *size_range)


def _policy_conditions(fields: dict[str, str], now: datetime | None) -> list[Any]:
    """The signed policy's conditions, after checking the form carries the signature fields and is unexpired."""
    if "policy" not in fields:
        raise PolicyRefused(403, "AccessDenied", "Anonymous access is forbidden for this operation")
    required = _SIGV2 if "awsaccesskeyid" in fields or "signature" in fields else _SIGV4
    for name in required:
        if name not in fields:
            raise PolicyRefused(400, "InvalidArgument",
                                f"Bucket POST must contain a field named '{name}'.  If it is specified, "
                                "please check the order of the fields.", ArgumentName=name)
    try:
        policy = json.loads(base64.b64decode(fields["policy"]))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy.get("conditions") or [])
    except (ValueError, KeyError, TypeError) as exc:
        raise PolicyRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
    if (now or datetime.now(UTC)) > expiration:
        raise PolicyRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    return conditions


def _apply_condition(condition: Any, values: dict[str, str], covered: set[str]) -> tuple[int, int] | None:
    """Check one policy condition against the form; returns the content-length range if that is what it is."""
    if isinstance(condition, dict):
        for name, expected in condition.items():
            _require(name.lower(), values, "eq", str(expected), condition)
            covered.add(name.lower())
        return None
    if isinstance(condition, list) and condition and str(condition[0]).lower() == "content-length-range":
        return int(condition[1]), int(condition[2])
    if isinstance(condition, list) and len(condition) == 3 and str(condition[0]).lower() in ("eq", "starts-with"):
        name = str(condition[1]).lower().lstrip("$")
        _require(name, values, str(condition[0]).lower(), str(condition[2]), condition)
        covered.add(name)
        return None
    raise PolicyRefused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition}")


def _check_size(size: int, low: int, high: int) -> None:
    if size > high:
        raise PolicyRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                            ProposedSize=size, MaxSizeAllowed=high)
    if size < low:
        raise PolicyRefused(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                            "size", ProposedSize=size, MinSizeAllowed=low)


def _starts_with(name: str, value: str, prefix: str) -> bool:
    if name == "content-type":  # S3: each of a comma-separated list of content types must match
        return all(part.strip().startswith(prefix) for part in value.split(","))
    return value.startswith(prefix)


def _require(name: str, values: dict[str, str], op: str, expected: str, condition: Any) -> None:
    value = values.get(name)
    holds = value is not None and (value == expected if op == "eq" else _starts_with(name, value, expected))
    if not holds:
        raise PolicyRefused(403, "AccessDenied",
                            f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def error_xml(refusal: PolicyRefused) -> bytes:
    extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in refusal.extra.items())
    request_id = uuid.uuid4().hex[:16].upper()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{refusal.code}</Code>'
            f"<Message>{escape(refusal.message)}</Message>{extra}<RequestId>{request_id}</RequestId>"
            f"<HostId>local</HostId></Error>").encode()


class S3PostPolicy:
    """WSGI middleware: checks S3 form uploads (``multipart/form-data`` POSTs) before moto sees them."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or \
                not str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data"):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        probe = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        _, form, files = parse_form_data(probe, max_form_memory_size=None)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        upload = files.get("file")
        if upload is None:
            return self.app(environ, start_response)  # not a form upload
        size = len(upload.read())
        try:
            check_post(_bucket(environ), {k: form[k] for k in form}, upload.filename or "", size)
        except PolicyRefused as refusal:
            payload = error_xml(refusal)
            start_response(f"{refusal.status} {'Forbidden' if refusal.status == 403 else 'Bad Request'}",
                           [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))])
            return [payload]
        return self.app(environ, start_response)


def _bucket(environ: dict[str, Any]) -> str:
    path = str(environ.get("PATH_INFO", "")).strip("/")
    if path:
        return path.split("/", 1)[0]
    host = str(environ.get("HTTP_HOST", "")).split(":", 1)[0]
    return host.split(".s3", 1)[0] if ".s3" in host else host.split(".", 1)[0]
