"""Data access for the document bucket (S3) and the verification workflow (Step Functions)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared import aws
from shared.identity.errors import TaskExpired


class S3DocumentStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self.client = client or aws.client("s3")

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> dict[str, Any]:
        """A form upload limited to this key, this content type and 1..max_bytes bytes."""
        post: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires,
        )
        return post

    def head(self, key: str) -> tuple[int, str] | None:
        """(size, content type) of the uploaded object, or None if it is not there."""
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(resp["ContentLength"]), str(resp.get("ContentType", ""))

    def first_bytes(self, key: str, n: int = 8) -> bytes:
        resp = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{n - 1}")
        return bytes(resp["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, expires: int) -> str:
        return str(self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                      ExpiresIn=expires))


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client or aws.client("stepfunctions")

    def start(self, name: str, payload: str) -> str:
        resp = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=payload)
        return str(resp["executionArn"])

    def resume(self, task_token: str, output: str) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=output)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                raise TaskExpired(exc.response["Error"]["Code"]) from exc
            raise
