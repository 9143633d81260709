"""The whole platform on one machine: emulator + resources + functions + API gateway.

    with LocalStack() as stack:            # what `make run` and the tests use
        stack.gateway.url                  # http://127.0.0.1:3000
        stack.client("dynamodb")           # boto3 client on the emulator
        stack.invoke("GetMyAccountFunction", event)
        stack.iam.denials                  # calls a function made that its template policies do not allow
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from local_stack import iam, tokens
from local_stack.emulator import Emulator
from local_stack.functions import FunctionRegistry
from local_stack.gateway import Gateway
from local_stack.provision import client, provision
from local_stack.template import REGION, TEMPLATE, Template


class LocalStack:
    def __init__(self, template_path: Path = TEMPLATE, api_port: int | None = 3000, emulator_port: int = 0,
                 time_scale: float = 1.0, parameters: dict[str, str] | None = None,
                 enforce_iam: bool | None = None) -> None:
        self.template = Template(template_path, parameters)
        # Every AWS call a function makes is recorded and checked against its template policies (local_stack/iam.py);
        # LOCAL_IAM_ENFORCE=0 records without refusing (to see what a function would need).
        if enforce_iam is None:
            enforce_iam = os.environ.get("LOCAL_IAM_ENFORCE", "1") != "0"
        self.iam = iam.AccessGuard(enforce=enforce_iam)
        self.iam.add_template(self.template)
        self.emulator = Emulator(port=emulator_port, time_scale=time_scale)
        self.registry = FunctionRegistry(self.template)
        self.gateway = Gateway(self.template, self.registry)
        self.api_port = api_port
        self.resources: dict[str, list[str]] = {}
        self.attached: dict[Path, tuple[Template, FunctionRegistry]] = {}

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        from shared import aws

        iam.install(self.iam)
        aws.client.cache_clear()  # clients are created (and hooked) from now on
        self.emulator.start(invoker=self.registry.invoke_for_emulator)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.emulator.endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "MOTO_PORT": str(self.emulator.port),
                **self.template.common_environment(),
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        self.resources = provision(self.template, self.emulator.endpoint)
        if self.api_port is not None:
            self.gateway.start(port=self.api_port)
        return self

    def stop(self) -> None:
        """Stop serving and forget the emulated data (moto's backends live in this process)."""
        self.gateway.stop()
        with contextlib.suppress(OSError):
            self.emulator.reset()
        self.emulator.stop()
        iam.uninstall()
        from shared import aws

        aws.client.cache_clear()  # clients created later must not point at this emulator's port

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Empty the emulator and re-create every resource from the template."""
        self.emulator.reset()
        self.resources = provision(self.template, self.emulator.endpoint)
        for template, _ in self.attached.values():
            provision(template, self.emulator.endpoint)

    def attach(self, template_path: Path) -> tuple[Template, FunctionRegistry]:
        """Add another template's resources and functions to this running stack (used by harness tests)."""
        if template_path in self.attached:
            return self.attached[template_path]
        template = Template(template_path)
        registry = FunctionRegistry(template)
        self.iam.add_template(template)
        self.emulator.invokers.append(registry.invoke_for_emulator)
        provision(template, self.emulator.endpoint)
        self.attached[template_path] = (template, registry)
        return template, registry

    # --- conveniences ---------------------------------------------------------
    def client(self, service: str) -> Any:
        return client(service, self.emulator.endpoint)

    def invoke(self, function: str, event: Any) -> Any:
        return self.registry.invoke(function, event)

    def token(self, sub: str, groups: list[str] | None = None, partner_id: str | None = None) -> str:
        return tokens.issue(sub, groups, partner_id)

    def state_machine_arn(self, logical_id: str) -> str:
        return self.template.arn(logical_id)

    def run_execution(self, state_machine_arn: str, payload: Any, timeout: float = 30.0,
                      until: tuple[str, ...] = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")) -> dict[str, Any]:
        """Start an execution and wait until its status is in ``until``."""
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(payload))["executionArn"]
        return self.wait_execution(arn, timeout, until)

    def wait_execution(self, execution_arn: str, timeout: float = 30.0,
                       until: tuple[str, ...] = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            desc: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] in until:
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still {desc['status']} after {timeout}s")
            time.sleep(0.02)
