"""The whole platform on one machine: emulator + resources + functions + API gateway + event sources.

    with LocalStack() as stack:            # what `make run` and the tests use
        stack.gateway.url                  # http://127.0.0.1:3000
        stack.client("dynamodb")           # boto3 client on the emulator
        stack.invoke("GetMyAccountFunction", event)
        stack.iam.denials                  # calls a function made that its template policies do not allow

Everything the template wires to a function runs by itself, as on AWS:

* schedules (``Schedule``/``ScheduleV2`` events, scheduled rules) fire on ``stack.scheduler``, at the
  template rate times ``schedule_scale`` (``schedules=False``: none fire; ``with
  stack.scheduler.paused():`` holds them for a block; ``stack.scheduler.fire(name)`` fires one now);
* EventBridge rules (``EventBridgeRule`` events, ``AWS::Events::Rule``) deliver matching
  ``put_events`` to their functions asynchronously;
* DynamoDB stream event source mappings run on ``stack.streams`` (``stack.drain_streams()`` waits
  until every record has been handled; ``stack.streams.get(name)`` is one poller);
* asynchronous invocations (``InvocationType=Event``, rules, schedules) go through Lambda's async queue,
  ``stack.async_invoker`` (retries, OnFailure destination, DeadLetterQueue); ``stack.drain()`` waits for
  streams and async invocations together.
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
from local_stack.async_lambda import AsyncInvoker, AsyncTarget
from local_stack.destinations import Destinations
from local_stack.emulator import Emulator
from local_stack.functions import FunctionRegistry, UnknownFunction
from local_stack.gateway import Gateway
from local_stack.provision import client, provision
from local_stack.rules import RuleDelivery, rules_from
from local_stack.schedules import Scheduler, schedules_from
from local_stack.streams import EventSourceMappings, stream_mappings_from
from local_stack.template import REGION, TEMPLATE, Template

log = logging.getLogger("local_stack")
EMULATED_EVENTS = {"Api", "Schedule", "ScheduleV2", "EventBridgeRule", "DynamoDB"}


class LocalStack:
    def __init__(self, template_path: Path = TEMPLATE, api_port: int | None = 3000, emulator_port: int = 0,
                 time_scale: float = 1.0, parameters: dict[str, str] | None = None, schedules: bool = True,
                 schedule_scale: float = 1.0, streams: bool = True, poll_interval: float = 0.1,
                 enforce_iam: bool | None = None) -> None:
        """``time_scale`` multiplies AWS's own waits (state machine and async retry back-offs, stream retry
        back-offs); ``schedule_scale`` the schedules' clock (0.01: ``rate(1 minute)`` fires every 0.6 s);
        ``schedules``/``streams`` switch the scheduler / the stream pollers off; ``poll_interval`` is the
        longest an idle stream poller sleeps."""
        self.template = Template(template_path, parameters)
        # Every AWS call a function makes is recorded and checked against its template policies (local_stack/iam.py);
        # LOCAL_IAM_ENFORCE=0 records without refusing (to see what a function would need).
        if enforce_iam is None:
            enforce_iam = os.environ.get("LOCAL_IAM_ENFORCE", "1") != "0"
        self.iam = iam.AccessGuard(enforce=enforce_iam)
        self.iam.add_template(self.template)
        # Refuse what cannot be emulated before anything starts, naming the resource.
        for check in (schedules_from, rules_from, stream_mappings_from):
            check(self.template)
        for lid, spec in self.template.functions().items():
            for event_id, event in spec.events.items():
                if event.get("Type") not in EMULATED_EVENTS:
                    log.warning("%s.Events.%s: %s events are not emulated locally", lid, event_id, event.get("Type"))
        self.emulator = Emulator(port=emulator_port, time_scale=time_scale)
        self.registry = FunctionRegistry(self.template)
        self.gateway = Gateway(self.template, self.registry)
        self.api_port = api_port
        self.time_scale = time_scale
        self.run_schedules = schedules
        self.schedule_scale = schedule_scale
        self.run_streams = streams
        self.poll_interval = poll_interval
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
        self._start_event_sources()
        if self.api_port is not None:
            self.gateway.start(port=self.api_port)
        return self

    def _start_event_sources(self) -> None:
        endpoint = self.emulator.endpoint
        self.destinations = Destinations(endpoint, submit_async=lambda fn, event: self.async_invoker.submit(fn, event))
        self.async_invoker = AsyncInvoker(self.find_function, self.destinations, self.time_scale)
        self.registry.async_invoker = self.async_invoker.submit
        self.emulator.rule_lambda_target = RuleDelivery(self.async_invoker.submit, self.destinations)
        self.streams = EventSourceMappings(self.destinations, endpoint, self.time_scale, self.poll_interval)
        self.emulator.stream_listeners.append(self.streams.notify)
        if self.run_streams:
            self.streams.add(self.template, self.registry)
        self.scheduler = Scheduler(self.async_invoker.submit, self.destinations, self.schedule_scale)
        self.scheduler.add(schedules_from(self.template))
        if self.run_schedules:
            self.scheduler.start()

    def find_function(self, name_or_arn: str) -> AsyncTarget | None:
        """The registry (this template's or an attached one's) that runs a function, by name or ARN."""
        for registry in [self.registry, *(r for _, r in self.attached.values())]:
            with contextlib.suppress(UnknownFunction):
                return AsyncTarget(registry, registry.resolve_name(name_or_arn))
        return None

    def stop(self) -> None:
        """Stop serving and forget the emulated data (moto's backends live in this process)."""
        if hasattr(self, "scheduler"):
            self.scheduler.stop()
            self.streams.stop()
            self.async_invoker.stop()
            self.emulator.stream_listeners.clear()
            self.emulator.rule_lambda_target = None
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
        """Empty the emulator and re-create every resource from the template.

        Schedules, stream pollers and the async queue are held meanwhile: the batch or invocation in
        flight finishes, queued async invocations and their retries are forgotten, and the pollers then
        read the re-created tables' new streams from their start."""
        with self.scheduler.paused(), self.streams.paused(), self.async_invoker.paused():
            self.emulator.reset()
            self.resources = provision(self.template, self.emulator.endpoint)
            for template, _ in self.attached.values():
                provision(template, self.emulator.endpoint)
            self.streams.restart()

    def attach(self, template_path: Path) -> tuple[Template, FunctionRegistry]:
        """Add another template's resources, functions, routes, schedules, rules and stream mappings to this
        running stack (used by harness tests)."""
        if template_path in self.attached:
            return self.attached[template_path]
        template = Template(template_path)
        schedules = schedules_from(template)
        registry = FunctionRegistry(template)
        self.iam.add_template(template)
        registry.async_invoker = self.async_invoker.submit
        self.emulator.invokers.append(registry.invoke_for_emulator)
        provision(template, self.emulator.endpoint)
        self.attached[template_path] = (template, registry)
        self.gateway.add_routes(template, registry)
        if self.run_streams:
            self.streams.add(template, registry)
        self.scheduler.add(schedules)
        return template, registry

    # --- waiting for what runs in the background --------------------------------------------------
    def drain_streams(self, timeout: float = 10.0) -> None:
        """Wait until every stream poller has handled (or failed over) every record of its stream."""
        self.streams.drain(timeout)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until the stream pollers and the asynchronous invocation queue (retries included) are idle."""
        deadline = time.monotonic() + timeout
        while True:
            self.streams.drain(max(0.0, deadline - time.monotonic()))
            self.async_invoker.drain(max(0.0, deadline - time.monotonic()))
            if self.async_invoker.idle() and all(p.idle() for p in self.streams.pollers):
                return

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
