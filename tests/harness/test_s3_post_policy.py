"""S3 POST policies are enforced by the local stack (issue 9 item 16): a form outside its policy is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from local_stack.s3_post_policy import PolicyRefused, check_post
from local_stack.stack import LocalStack

BUCKET = "wallet-local-harnessbucket"
OTHER_BUCKET = "wallet-local-identitydocumentsbucket"


@pytest.fixture
def s3v4(clean_stack: LocalStack) -> Any:
    clean_stack.client("s3").create_bucket(Bucket=BUCKET)
    return boto3.client("s3", endpoint_url=clean_stack.emulator.endpoint, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(signature_version="s3v4"))


def presign(s3: Any, bucket: str = BUCKET) -> dict[str, Any]:
    return s3.generate_presigned_post(  # type: ignore[no-any-return]
        Bucket=bucket, Key="uploads/${filename}", Fields={"Content-Type": "image/png"},
        Conditions=[["starts-with", "$key", "uploads/"], ["starts-with", "$Content-Type", "image/"],
                    ["content-length-range", 10, 100]], ExpiresIn=60)


def post(form: dict[str, Any], data: bytes, filename: str = "card.png", url: str | None = None,
         **fields: str | None) -> requests.Response:
    sent = {k: v for k, v in {**form["fields"], **fields}.items() if v is not None}
    return requests.post(url or form["url"], data=sent, files={"file": (filename, data)}, timeout=30)


def error(resp: requests.Response) -> tuple[int, str]:
    return resp.status_code, resp.text.split("<Code>")[1].split("</Code>")[0]


def test_a_sigv4_form_inside_its_policy_is_stored(s3v4: Any) -> None:
    resp = post(presign(s3v4), b"x" * 50)
    assert resp.status_code == 204, resp.text
    head = s3v4.head_object(Bucket=BUCKET, Key="uploads/card.png")  # ${filename} substituted
    assert head["ContentLength"] == 50 and head["ContentType"] == "image/png"


@pytest.mark.parametrize(("data", "fields", "expected"), [
    (b"x" * 101, {}, (400, "EntityTooLarge")),
    (b"x" * 9, {}, (400, "EntityTooSmall")),
    (b"x" * 50, {"key": "elsewhere/card.png"}, (403, "AccessDenied")),
    (b"x" * 50, {"Content-Type": "text/html"}, (403, "AccessDenied")),
    (b"x" * 50, {"x-amz-meta-note": "not in the policy"}, (403, "AccessDenied")),
    (b"x" * 50, {"x-amz-signature": None}, (400, "InvalidArgument")),
    (b"x" * 50, {"policy": None}, (403, "AccessDenied")),
])
def test_a_form_outside_its_policy_is_refused_with_the_s3_error(s3v4: Any, data: bytes, fields: dict[str, Any],
                                                                 expected: tuple[int, str]) -> None:
    resp = post(presign(s3v4), data, **fields)
    assert error(resp) == expected, resp.text
    assert resp.headers["Content-Type"] == "application/xml"
    assert "Contents" not in s3v4.list_objects_v2(Bucket=BUCKET)


def test_the_size_refusal_names_the_limit(s3v4: Any) -> None:
    resp = post(presign(s3v4), b"x" * 101)
    assert "<ProposedSize>101</ProposedSize><MaxSizeAllowed>100</MaxSizeAllowed>" in resp.text


def test_a_policy_for_one_bucket_does_not_open_another(s3v4: Any) -> None:
    form = presign(s3v4)
    resp = post(form, b"x" * 50, url=form["url"].replace(BUCKET, OTHER_BUCKET))
    assert error(resp) == (403, "AccessDenied") and "bucket" in resp.text


def test_x_ignore_fields_are_allowed(s3v4: Any) -> None:
    assert post(presign(s3v4), b"x" * 50, **{"x-ignore-tracking": "1"}).status_code == 204


def _policy(expiration: datetime, *conditions: Any) -> str:
    doc = {"expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": list(conditions)}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def test_an_expired_policy_is_refused() -> None:
    now = datetime.now(UTC)
    fields = {"key": "k", "AWSAccessKeyId": "local", "signature": "s",
              "policy": _policy(now - timedelta(seconds=1), {"bucket": "b"}, {"key": "k"})}
    with pytest.raises(PolicyRefused) as refused:
        check_post("b", fields, "f", 1, now)
    assert (refused.value.status, refused.value.code) == (403, "AccessDenied")
    assert "Policy expired" in refused.value.message
    fields["policy"] = _policy(now + timedelta(seconds=60), {"bucket": "b"}, ["eq", "$key", "k"])
    check_post("b", fields, "f", 1, now)  # the same form, in time, passes

