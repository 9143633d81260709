"""EventBridge rules deliver locally: ``EventBridgeRule`` events and ``AWS::Events::Rule`` resources with a pattern.

Provisioning creates each rule and its targets in the emulator (``put_rule``/``put_targets``), so moto's
own pattern matching decides which events match (exact values, ``prefix``, ``suffix``, ``anything-but``,
``exists``, ``numeric``, ``$or`` ...) and its own delivery still serves SQS, log-group and bus targets.
moto 5.2.5 has no Lambda targets; the emulator patches ``Rule.send_to_targets`` so that for a Lambda
target the (transformed) event reaches ``RuleDelivery``, which queues an asynchronous invocation
(``async_lambda``): the function receives the EventBridge envelope (or the target's ``Input`` /
``InputPath`` / ``InputTransformer`` result), without holding up ``put_events``; the function's own
retries and OnFailure destination/DLQ handle its errors, as on AWS. The target's ``DeadLetterConfig``
receives the event when it cannot be delivered at all (no such function).

Scheduled rules (``ScheduleExpression``) are not created in moto (moto would send them every event);
``schedules`` fires them.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.destinations import Destinations
from local_stack.schedules import dead_letter_arn
from local_stack.template import Template

log = logging.getLogger("local_stack.rules")

_MOTO_TARGETS = ("sqs", "logs", "events")  # target services moto 5.2.5 delivers to itself


@dataclass(frozen=True)
class RuleSpec:
    name: str
    bus: str
    pattern: dict[str, Any]
    targets: list[dict[str, Any]] = field(default_factory=list)
    state: str = "ENABLED"
    source: str = ""  # where the template declares it, for messages


def rules_from(template: Template) -> list[RuleSpec]:
    """Every pattern rule of the template (SAM ``EventBridgeRule`` events and ``AWS::Events::Rule``)."""
    specs: list[RuleSpec] = []
    for lid, res in template.of_type("AWS::Serverless::Function").items():
        for event_id, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "EventBridgeRule":
                continue
            props = template.resolve(event.get("Properties") or {})
            rule_id = f"{lid}{event_id}"
            target: dict[str, Any] = {"Id": (props.get("Target") or {}).get("Id") or f"{rule_id}LambdaTarget",
                                      "Arn": template.arn(lid)}
            for key in ("Input", "InputPath", "InputTransformer", "RetryPolicy"):
                if key in props:
                    target[key] = props[key]
            dlq = dead_letter_arn(template, props.get("DeadLetterConfig"), f"{rule_id}Queue")
            if dlq:
                target["DeadLetterConfig"] = {"Arn": dlq}
            specs.append(RuleSpec(str(props.get("RuleName") or rule_id), _bus_name(props.get("EventBusName")),
                                  props["Pattern"], [target], str(props.get("State", "ENABLED")),
                                  f"{lid}.Events.{event_id}"))
    for lid, res in template.of_type("AWS::Events::Rule").items():
        raw = res.get("Properties") or {}
        if "EventPattern" not in raw:
            continue  # scheduled rules: local_stack.schedules
        props = template.resolve(raw)
        pattern = props["EventPattern"]
        specs.append(RuleSpec(str(props.get("Name") or lid), _bus_name(props.get("EventBusName")),
                              json.loads(pattern) if isinstance(pattern, str) else pattern,
                              list(props.get("Targets") or []), str(props.get("State", "ENABLED")), lid))
    return specs


def _bus_name(value: Any) -> str:
    name = str(value or "default")
    return name.rsplit("/", 1)[-1] if name.startswith("arn:") else name


def provision_rules(template: Template, events: Any) -> list[str]:
    """Create the template's pattern rules and their targets in the emulator; returns the rule names."""
    names = []
    for spec in rules_from(template):
        targets = []
        for target in spec.targets:
            service = str(target["Arn"]).split(":")[2] if str(target["Arn"]).count(":") >= 5 else ""
            if service == "lambda" or service in _MOTO_TARGETS:
                targets.append(target)
            else:
                log.warning("%s: target %s is not emulated locally (Lambda, SQS, log group, bus only)",
                            spec.source, target["Arn"])
        events.put_rule(Name=spec.name, EventBusName=spec.bus, EventPattern=json.dumps(spec.pattern),
                        State=spec.state)
        if targets:
            events.put_targets(Rule=spec.name, EventBusName=spec.bus, Targets=targets)
        names.append(spec.name)
    return names


def lambda_event(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a Lambda target receives: the envelope, or the target's Input / InputPath / InputTransformer."""
    envelope = dict(event)
    if isinstance(envelope.get("time"), int | float):  # moto stamps epoch seconds; EventBridge sends ISO 8601
        envelope["time"] = datetime.fromtimestamp(envelope["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope.pop("ingestion-time", None)
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        value: Any = envelope
        for part in str(target["InputPath"]).removeprefix("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return value
    if target.get("InputTransformer"):
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        with_time: Any = {**envelope, "ingestion-time": event.get("ingestion-time", 0)}
        return EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                         input_paths_map=transformer.get("InputPathsMap", {}),
                                         event=with_time)
    return envelope


class RuleDelivery:
    """Called by the emulator (under its lock) for each Lambda target of a matching rule: queue, never block,
    never call the emulator from this thread."""

    def __init__(self, submit: Any, destinations: Destinations) -> None:
        self.submit = submit
        self.destinations = destinations

    def __call__(self, rule_arn: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        payload = lambda_event(target, event)
        try:
            self.submit(target["Arn"], payload)
        except LookupError as exc:  # not retried by EventBridge (the resource does not exist): to the DLQ
            dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
            log.error("rule %s could not invoke %s (%s); event sent to %s", rule_arn, target["Arn"], exc,
                      dlq or "nowhere (no DeadLetterConfig)")
            if dlq:  # from another thread: this one holds the emulator's lock, and SQS needs it
                attributes = {"ERROR_CODE": "RESOURCE_NOT_FOUND", "ERROR_MESSAGE": str(exc)[:1000],
                              "RULE_ARN": rule_arn, "TARGET_ARN": target["Arn"], "RETRY_ATTEMPTS": "0",
                              "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts"}
                threading.Thread(target=self.destinations.send, args=(dlq, payload, attributes),
                                 name="rule-dlq", daemon=True).start()
