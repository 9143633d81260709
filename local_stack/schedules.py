"""The template's schedules fire locally: ``Schedule``/``ScheduleV2`` events, scheduled ``AWS::Events::Rule``s
and ``AWS::Scheduler::Schedule``s with a Lambda target.

Each schedule fires at its template rate on a clock where every period is multiplied by ``scale``
(``LocalStack(schedule_scale=...)``; 1.0 for ``make run``, so ``rate(1 minute)`` fires every minute;
the session test stack uses 0.1: every 6 s). Firing sends what AWS sends:

* ``Schedule`` / scheduled rule (CloudWatch Events): ``{"source": "aws.events", "detail-type":
  "Scheduled Event", "resources": [<rule arn>], "detail": {}, ...}``;
* ``ScheduleV2`` / ``AWS::Scheduler::Schedule`` (EventBridge Scheduler's default notification):
  ``{"source": "aws.scheduler", "detail-type": "Scheduled Event", "resources": [<schedule arn>],
  "detail": "{}", ...}``;
* or exactly the target's ``Input`` JSON when declared.

The event goes to the function's asynchronous invocation queue (``async_lambda``: the function's
retries and OnFailure destination / DeadLetterQueue apply to its errors, as on AWS). The schedule's own
``DeadLetterConfig`` receives the event when it cannot be delivered at all (no such function).

Expressions: ``rate(N minute|minutes|hour|hours|day|days)``, ``cron(min hour day-of-month month
day-of-week year)`` with ``*``, ``?``, lists, ranges, steps and names (not ``L``, ``W``, ``#``), and
``at(yyyy-mm-ddThh:mm:ss)`` (ScheduleV2). Anything else is refused when the stack starts, naming the
schedule.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local_stack.destinations import Destinations
from local_stack.template import ACCOUNT, REGION, Template, TemplateError

log = logging.getLogger("local_stack.schedules")


# --- expressions ---------------------------------------------------------------------------
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def _cron_field(text: str, low: int, high: int, names: dict[str, int], where: str) -> frozenset[int] | None:
    """The values a cron field allows, or None for ``?`` (no constraint from this field)."""
    if text == "?":
        return None
    if re.search(r"[LW#]", re.sub("|".join(names) or "^$", "", text.upper())):
        raise TemplateError(f"{where}: the L, W and # cron wildcards are not supported by the local scheduler")
    values: set[int] = set()
    for part in text.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(names.get(a, a)), int(names.get(b, b))
        else:
            start = int(names.get(part, part))
            end = high if step != 1 else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise TemplateError(f"{where}: {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Expression:
    """A parsed schedule expression; ``next_after(t)`` is the first firing strictly after ``t`` (aware)."""

    text: str
    period: float | None = None  # rate(...)
    at: datetime | None = None  # at(...)
    cron: tuple[Any, ...] | None = None  # (minutes, hours, dom, months, dow, years)
    zone: str = "UTC"

    @classmethod
    def parse(cls, text: str, zone: str | None = None, where: str = "schedule") -> Expression:
        text = text.strip()
        tz = zone or "UTC"
        try:
            ZoneInfo(tz)
        except Exception as exc:
            raise TemplateError(f"{where}: unknown time zone {tz!r}") from exc
        if m := _RATE.match(text):
            value = int(m.group(1))
            if value < 1:
                raise TemplateError(f"{where}: {text} must be at least 1")
            return cls(text, period=float(value * _UNIT[m.group(2).rstrip("s")]), zone=tz)
        if m := _AT.match(text):
            return cls(text, at=datetime.fromisoformat(m.group(1)).replace(tzinfo=ZoneInfo(tz)), zone=tz)
        if m := _CRON.match(text):
            fields = m.group(1).split()
            if len(fields) != 6:
                raise TemplateError(f"{where}: {text} needs 6 fields (minutes hours day-of-month month "
                                    "day-of-week year)")
            w = f"{where} {text}"
            minutes = _cron_field(fields[0], 0, 59, {}, w)
            hours = _cron_field(fields[1], 0, 23, {}, w)
            dom = _cron_field(fields[2], 1, 31, {}, w)
            months = _cron_field(fields[3], 1, 12, _MONTHS, w)
            dow = _cron_field(fields[4], 1, 7, _DAYS, w)
            years = _cron_field(fields[5], 1970, 2199, {}, w)
            if minutes is None or hours is None or months is None or years is None:
                raise TemplateError(f"{w}: '?' is only allowed in day-of-month or day-of-week")
            if (dom is None) == (dow is None):
                raise TemplateError(f"{w}: exactly one of day-of-month and day-of-week must be '?'")
            return cls(text, cron=(minutes, hours, dom, months, dow, years), zone=tz)
        raise TemplateError(f"{where}: {text!r} is not a rate(...), cron(...) or at(...) expression the local "
                            "scheduler supports")

    def next_after(self, t: datetime) -> datetime | None:
        if self.period is not None:
            return t + timedelta(seconds=self.period)
        if self.at is not None:
            return self.at if self.at > t else None
        assert self.cron is not None
        minutes, hours, dom, months, dow, years = self.cron
        local = t.astimezone(ZoneInfo(self.zone)).replace(second=0, microsecond=0)
        day = local.date()
        for _ in range(366 * 8):  # every allowed day of the next 8 years at most
            aws_dow = (day.weekday() + 1) % 7 + 1  # AWS: 1 = Sunday
            if (day.year in years and day.month in months and (dom is None or day.day in dom)
                    and (dow is None or aws_dow in dow)):
                for hour in sorted(hours):
                    for minute in sorted(minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(self.zone))
                        if candidate > t:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        return None


# --- what the template declares ------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule of the template and the function it invokes."""

    name: str  # rule / schedule name; locally "<Function><Event>" for SAM events, as SAM names its rule
    arn: str
    kind: str  # "rule" (CloudWatch Events / Schedule) or "scheduler" (EventBridge Scheduler / ScheduleV2)
    expression: Expression
    target: str  # function ARN
    function: str  # logical id of the function, or the ARN when the template does not declare it
    enabled: bool = True
    input: str | None = None
    dead_letter: str | None = None

    def event(self, when: datetime) -> Any:
        if self.input is not None:
            return json.loads(self.input)
        envelope: dict[str, Any] = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events" if self.kind == "rule" else "aws.scheduler",
            "account": ACCOUNT, "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
            "resources": [self.arn], "detail": {} if self.kind == "rule" else "{}",
        }
        return envelope


def dead_letter_arn(template: Template, config: Any, default_queue: str) -> str | None:
    """A SAM/CloudFormation ``DeadLetterConfig``: ``{Arn}`` or ``{Type: SQS, QueueLogicalId?}`` (SAM creates
    the queue, named ``QueueLogicalId`` or ``<rule logical id>Queue``)."""
    if not config:
        return None
    if config.get("Arn") is not None:
        return str(template.resolve(config["Arn"]))
    if config.get("Type") == "SQS":
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{config.get('QueueLogicalId') or default_queue}"
    return None


def _input(template: Template, value: Any) -> str | None:
    if value is None:
        return None
    resolved = template.resolve(value)
    return resolved if isinstance(resolved, str) else json.dumps(resolved)


def schedules_from(template: Template) -> list[ScheduleSpec]:
    """Every schedule of the template with a Lambda target; unsupported expressions raise TemplateError."""
    return [*_function_schedules(template), *_rule_schedules(template), *_scheduler_schedules(template)]


def _function_schedules(template: Template) -> list[ScheduleSpec]:
    """``Schedule``/``ScheduleV2`` events of the template's functions."""
    specs: list[ScheduleSpec] = []
    for lid, res in template.of_type("AWS::Serverless::Function").items():
        target = template.arn(lid)
        for event_id, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            etype, props = event.get("Type"), template.resolve(event.get("Properties") or {})
            if etype not in ("Schedule", "ScheduleV2"):
                continue
            rule_id = f"{lid}{event_id}"
            where = f"{lid}.Events.{event_id}"
            if etype == "Schedule":
                name = str(props.get("Name") or rule_id)
                expression = Expression.parse(str(props["Schedule"]), None, where)
                enabled = props.get("Enabled", True) not in (False, "false") and props.get("State") != "DISABLED"
                arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
                kind = "rule"
            else:
                name = str(props.get("Name") or rule_id)
                expression = Expression.parse(str(props["ScheduleExpression"]),
                                              props.get("ScheduleExpressionTimezone"), where)
                enabled = props.get("State", "ENABLED") != "DISABLED"
                group = props.get("GroupName") or "default"
                arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}"
                kind = "scheduler"
            specs.append(ScheduleSpec(name, arn, kind, expression, target, lid, enabled,
                                      _input(template, props.get("Input")),
                                      dead_letter_arn(template, props.get("DeadLetterConfig"), f"{rule_id}Queue")))
    return specs


def _rule_schedules(template: Template) -> list[ScheduleSpec]:
    """Scheduled ``AWS::Events::Rule`` resources with Lambda targets."""
    specs: list[ScheduleSpec] = []
    for lid, res in template.of_type("AWS::Events::Rule").items():
        props = res.get("Properties") or {}
        if "ScheduleExpression" not in props:
            continue
        name = str(template.resolve(props.get("Name") or lid))
        expression = Expression.parse(str(template.resolve(props["ScheduleExpression"])), None, lid)
        for target in props.get("Targets") or []:
            arn = str(template.resolve(target["Arn"]))
            if ":lambda:" not in arn:
                log.warning("%s: scheduled target %s is not a Lambda function; not emulated locally", lid, arn)
                continue
            specs.append(ScheduleSpec(f"{name}", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}", "rule", expression,
                                      arn, _function_name(template, arn),
                                      template.resolve(props.get("State", "ENABLED")) != "DISABLED",
                                      _input(template, target.get("Input")),
                                      dead_letter_arn(template, target.get("DeadLetterConfig"), f"{lid}Queue")))
    return specs


def _scheduler_schedules(template: Template) -> list[ScheduleSpec]:
    """``AWS::Scheduler::Schedule`` resources with Lambda targets."""
    specs: list[ScheduleSpec] = []
    for lid, res in template.of_type("AWS::Scheduler::Schedule").items():
        props = template.resolve(res.get("Properties") or {})
        spec_target: dict[str, Any] = props.get("Target") or {}
        arn = str(spec_target.get("Arn", ""))
        if ":lambda:" not in arn:
            log.warning("%s: schedule target %s is not a Lambda function; not emulated locally", lid, arn)
            continue
        name = str(props.get("Name") or lid)
        group = props.get("GroupName") or "default"
        specs.append(ScheduleSpec(
            name, f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}", "scheduler",
            Expression.parse(str(props["ScheduleExpression"]), props.get("ScheduleExpressionTimezone"), lid),
            arn, _function_name(template, arn), props.get("State", "ENABLED") != "DISABLED",
            _input(template, spec_target.get("Input")),
            dead_letter_arn(template, spec_target.get("DeadLetterConfig"), "")))
    return specs


def _function_name(template: Template, arn: str) -> str:
    name = arn.split(":function:")[-1].split(":")[0]
    for lid in template.of_type("AWS::Serverless::Function"):
        if template.physical_name(lid) == name:
            return lid
    return arn


# --- the scheduler -------------------------------------------------------------------------
Submit = Callable[[str, Any], Any]
"""(function ARN, event) -> request id; raises LookupError when there is no such function."""


class Scheduler:
    """Fires every enabled schedule in one background thread; periods (and cron gaps) are multiplied by ``scale``."""

    def __init__(self, submit: Submit, destinations: Destinations, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("schedule_scale must be > 0 (use schedules=False to switch schedules off)")
        self.submit = submit
        self.destinations = destinations
        self.scale = scale
        self.specs: dict[str, ScheduleSpec] = {}
        self.fired: Counter[str] = Counter()
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._paused = 0
        self._stopped = False
        self._origin_real = time.monotonic()
        self._origin_virtual = datetime.now(UTC)
        self._thread: threading.Thread | None = None

    def add(self, specs: list[ScheduleSpec]) -> None:
        with self._cond:
            for spec in specs:
                if spec.name in self.specs:
                    continue
                self.specs[spec.name] = spec
                if spec.enabled:
                    self._plan(spec, self._virtual_now())
            self._cond.notify_all()

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No schedule fires inside the block (firings that fall due are skipped, as if the rule were
        disabled for a while). Tests that count what a sweep does by itself use this."""
        with self._cond:
            self._paused += 1
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1

    def fire(self, name: str) -> str | None:
        """Fire one schedule now, whatever its clock says; returns the invocation's request id."""
        return self._deliver(self.specs[name], datetime.now(UTC))

    def describe(self) -> list[str]:
        lines = []
        for spec in self.specs.values():
            period = ""
            if spec.expression.period is not None:
                period = f", every {spec.expression.period * self.scale:g}s here" if self.scale != 1 else ""
            state = "" if spec.enabled else "  (DISABLED)"
            lines.append(f"{spec.function:34} {spec.expression.text}{period}{state}")
        return lines

    # --- internals --------------------------------------------------------------------------
    def _virtual_now(self) -> datetime:
        return self._origin_virtual + timedelta(seconds=(time.monotonic() - self._origin_real) / self.scale)

    def _real_at(self, virtual: datetime) -> float:
        return self._origin_real + (virtual - self._origin_virtual).total_seconds() * self.scale

    def _plan(self, spec: ScheduleSpec, after: datetime) -> None:
        nxt = spec.expression.next_after(after)
        if nxt is not None:
            heapq.heappush(self._heap, (self._real_at(nxt), next(self._seq), spec.name))

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                if not self._heap:
                    self._cond.wait(0.5)
                    continue
                due, _, name = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._heap)
                spec = self.specs[name]
                when = self._virtual_now()
                self._plan(spec, when)
                skip = self._paused > 0
            if not skip:
                self._deliver(spec, when)

    def _deliver(self, spec: ScheduleSpec, when: datetime) -> str | None:
        event = spec.event(when)
        self.fired[spec.name] += 1
        try:
            return str(self.submit(spec.target, event))
        except LookupError as exc:  # the target does not exist: not retried by EventBridge; to the DLQ
            where = spec.dead_letter or "nowhere (no DeadLetterConfig)"
            log.error("schedule %s could not invoke %s (%s); event sent to %s", spec.name, spec.target, exc, where)
            if spec.dead_letter:
                self.destinations.send(spec.dead_letter, event, {
                    "ERROR_CODE": "RESOURCE_NOT_FOUND", "ERROR_MESSAGE": str(exc)[:1000],
                    "RULE_ARN": spec.arn, "TARGET_ARN": spec.target, "RETRY_ATTEMPTS": "0",
                    "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts"})
            return None
