"""IAM for the local stack: every AWS call a function makes is recorded and checked against its template policies.

On AWS a function can only do what its execution role allows; the emulator allows everything. This module
closes that gap:

* ``function_statements(template, id)`` expands a function's ``Policies`` exactly as SAM does (policy templates
  through samtranslator's own ``PolicyTemplatesProcessor``, inline statements as written) and resolves the
  intrinsics with CloudFormation's semantics (``!Ref`` of a secret or a topic is its ARN).
* ``required_access(service, operation, params)`` is the IAM view of one API call: the actions and resource ARNs
  that IAM authorizes (a ``TransactWriteItems`` is a ``PutItem``/``UpdateItem``/``DeleteItem``/
  ``ConditionCheckItem`` on each item's table; ``HeadObject`` is ``s3:GetObject`` ...).
* ``AccessGuard`` hooks every botocore client created in the process (``before-parameter-build`` to decide,
  ``before-call`` to answer). The function running on the current thread is the one whose environment overlay
  is active (``AWS_LAMBDA_FUNCTION_NAME``, see ``local_stack/functions.py``); calls made outside any function
  (tests, seeding, the emulator itself) are neither checked nor recorded. Each call is recorded as
  ``Access(function, service, action, resource)``; a call the function's statements do not allow gets the
  error AWS would give (``AccessDeniedException``, HTTP 400, for JSON services) and is kept in ``denials``.

What is not emulated: policy conditions (a statement with a ``Condition`` counts as matching), permission
boundaries, resource policies, and the resource of actions whose request names none (``states:SendTaskSuccess``
carries only a task token: checked on the action alone). Presigned URLs/POSTs are authorized by AWS when they are
used; here the function's grant is checked when it signs them (recorded, and a denial is kept, but nothing raises).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from local_stack import faults
from local_stack.template import ACCOUNT, REGION, Template, TemplateError

# IAM service prefixes whose "access denied" error code is not AccessDeniedException (the query/XML protocols).
_DENIED_CODE = {"s3": ("AccessDenied", 403), "sqs": ("AccessDenied", 403), "sns": ("AuthorizationError", 403)}
# API operations whose IAM action has another name.
_ACTION_ALIASES = {
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("lambda", "Invoke"): "InvokeFunction",
}
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
# Managed policies SAM attaches by name, as far as they matter to calls a function's code makes.
_MANAGED = {
    "AWSLambdaBasicExecutionRole": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                                   "logs:PutLogEvents"], "Resource": "*"}],
    "AWSXRayDaemonWriteAccess": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                                                "xray:GetSamplingRules", "xray:GetSamplingTargets",
                                                                "xray:GetSamplingStatisticSummaries"],
                                  "Resource": "*"}],
}


@dataclass(frozen=True, order=True)
class Access:
    """One authorization: ``function`` performed ``service:action`` on ``resource`` (an ARN, or ``*``)."""

    function: str
    service: str
    action: str
    resource: str

    @property
    def iam_action(self) -> str:
        return f"{self.service}:{self.action}"


# --- policies -----------------------------------------------------------------------------------------------
class _AwsRefs(Template):
    """The template's resolver, with ``!Ref`` returning what CloudFormation returns where that is an ARN."""

    def __init__(self, template: Template) -> None:  # share the loaded document, do not re-read it
        self.__dict__.update(template.__dict__)

    def ref(self, name: str) -> str:
        rtype = (self.resources.get(name) or {}).get("Type")
        if rtype == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{self.physical_name(name)}"
        if rtype == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.physical_name(name)}"
        return super().ref(name)


@functools.cache
def _policy_templates() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements(template: Template, logical_id: str) -> list[dict[str, Any]]:
    """The function's ``Policies`` as IAM statements with intrinsics resolved (SAM's own expansion)."""
    props = template.resources[logical_id].get("Properties") or {}
    raw: list[dict[str, Any]] = []
    for policy in _listify(props.get("Policies") or []):
        if isinstance(policy, str):
            name = policy.rsplit("/", 1)[-1]
            if name not in _MANAGED:
                raise TemplateError(f"{logical_id}: managed policy {policy!r} is not known to local_stack/iam.py")
            raw.extend(_MANAGED[name])
        elif isinstance(policy, dict) and "Statement" in policy:
            raw.extend(_listify(policy["Statement"]))
        elif isinstance(policy, dict) and len(policy) == 1:
            (name, params), = policy.items()
            if not _policy_templates().has(name):
                raise TemplateError(f"{logical_id}: unknown SAM policy template {name!r}")
            raw.extend(_listify(_policy_templates().convert(name, params or {})["Statement"]))
        else:
            raise TemplateError(f"{logical_id}: policy {policy!r} is neither a policy template nor a document")
    resolver = _AwsRefs(template)
    return [resolver.resolve(statement) for statement in raw]


def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{regex}$", 0 if case_sensitive else re.IGNORECASE)


@dataclass
class _Statement:
    allow: bool
    actions: list[re.Pattern[str]]
    not_actions: list[re.Pattern[str]]
    resources: list[re.Pattern[str]]
    not_resources: list[re.Pattern[str]]

    @classmethod
    def of(cls, statement: dict[str, Any]) -> _Statement:
        def patterns(key: str, case_sensitive: bool) -> list[re.Pattern[str]]:
            return [_pattern(str(v), case_sensitive) for v in _listify(statement.get(key) or [])]

        return cls(allow=statement.get("Effect") == "Allow", actions=patterns("Action", False),
                   not_actions=patterns("NotAction", False), resources=patterns("Resource", True),
                   not_resources=patterns("NotResource", True))

    def matches(self, action: str, resource: str | None) -> bool:
        if self.actions and not any(p.match(action) for p in self.actions):
            return False
        if self.not_actions and any(p.match(action) for p in self.not_actions):
            return False
        if resource is None:  # the request names no resource: the action decides
            return True
        if self.resources and not any(p.match(resource) for p in self.resources):
            return False
        return not (self.not_resources and any(p.match(resource) for p in self.not_resources))


@dataclass
class Policy:
    """A function's identity policy: allowed if an Allow statement matches and no Deny does."""

    statements: list[_Statement] = field(default_factory=list)

    @classmethod
    def of(cls, statements: Iterable[dict[str, Any]]) -> Policy:
        return cls([_Statement.of(s) for s in statements])

    def allows(self, action: str, resource: str | None) -> bool:
        matching = [s for s in self.statements if s.matches(action, resource)]
        return any(s.allow for s in matching) and not any(not s.allow for s in matching)


# --- what a call needs -----------------------------------------------------------------------------------------
_KMS_ALIASES: dict[str, str] = {}  # alias name -> the ARN of the template key it names (AccessGuard.add_template)

def _table_arn(name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    if operation == "TransactWriteItems":
        return [(_TRANSACT_ACTIONS[kind], _table_arn(body["TableName"]))
                for entry in params.get("TransactItems") or [] for kind, body in entry.items()]
    if operation == "TransactGetItems":
        return [("GetItem", _table_arn(entry["Get"]["TableName"])) for entry in params.get("TransactItems") or []]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, _table_arn(table)) for table in params.get("RequestItems") or {}]
    if "TableName" in params:
        return [(operation, _table_arn(params["TableName"], params.get("IndexName")))]
    return [(operation, "*")]


def _queue_arn(url: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[-1]}"


def _arn_or(prefix: str, *, aliases: dict[str, str] | None = None) -> Any:
    """A name as its ARN (``prefix`` + name), an ARN as given; ``aliases`` first (KMS aliases name their key)."""
    def arn(value: str) -> str:
        if value.startswith("arn:"):
            return value
        return (aliases or {}).get(value, prefix + value)
    return arn


# service: (the parameter naming the resource, how its value becomes the ARN IAM authorizes)
_NAMED_RESOURCES: dict[str, tuple[str, Any]] = {
    "secretsmanager": ("SecretId", _arn_or(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:")),
    "sqs": ("QueueUrl", _queue_arn),
    # IAM authorizes the key, also when called by its alias
    "kms": ("KeyId", _arn_or(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/", aliases=_KMS_ALIASES)),
    "lambda": ("FunctionName", _arn_or(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:")),
}


def _resources(service: str, operation: str, params: dict[str, Any]) -> list[str | None]:
    """The resource ARNs of a (non-DynamoDB) call; ``[None]`` when the request names none."""
    if service == "events" and operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        return [b if b.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}"
                for b in sorted(buses)]
    if service == "states":
        return [next((str(params[k]) for k in ("stateMachineArn", "executionArn", "activityArn") if k in params),
                     None)]
    if service == "s3" and "Bucket" in params:
        obj = params.get("Key")
        return [f"arn:aws:s3:::{params['Bucket']}" + (f"/{obj}" if obj else "")]
    if service == "sns":
        return _sns_resources(params)
    named = _NAMED_RESOURCES.get(service)
    if named and named[0] in params:
        return [named[1](str(params[named[0]]))]
    return [None]


def _sns_resources(params: dict[str, Any]) -> list[str | None]:
    if "TopicArn" in params or "TargetArn" in params:
        return [str(params.get("TopicArn") or params.get("TargetArn"))]
    if "PhoneNumber" in params:  # direct SMS names no ARN: IAM evaluates it against "*"
        return ["*"]
    return [None]


def required_access(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(IAM action without prefix, resource ARN or None) pairs that IAM checks for this API call."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    action = _ACTION_ALIASES.get((service, operation), operation)
    return [(action, resource) for resource in _resources(service, operation, params)]


# --- the guard ------------------------------------------------------------------------------------------------
def current_function() -> str | None:
    """The function whose environment is layered over this thread (None outside any function)."""
    from local_stack.functions import OverlayEnviron

    return OverlayEnviron.layer().get("AWS_LAMBDA_FUNCTION_NAME")


class AccessGuard:
    """Records every call a function makes and refuses what its template policies do not allow."""

    def __init__(self, enforce: bool = True) -> None:
        self.enforce = enforce
        self.policies: dict[str, Policy] = {}
        self.observed: Counter[Access] = Counter()
        self.denials: list[Access] = []
        self._lock = threading.Lock()

    def add_template(self, template: Template) -> None:
        for logical_id, res in template.of_type("AWS::KMS::Alias").items():
            target = (res.get("Properties") or {}).get("TargetKeyId")
            if isinstance(target, dict) and target.get("Ref") in template.resources:
                _KMS_ALIASES[template.ref(logical_id)] = template.arn(target["Ref"])
        for logical_id in template.of_type("AWS::Serverless::Function"):
            self.policies[logical_id] = Policy.of(function_statements(template, logical_id))

    def take_denials(self) -> list[Access]:
        with self._lock:
            denials, self.denials = self.denials, []
        return denials

    def authorize(self, function: str, service: str, operation: str, params: dict[str, Any]) -> list[Access]:
        """Record the call; return the accesses it needs that the function's policy does not allow."""
        needed = required_access(service, operation, params)
        accesses = [Access(function, service, action, resource or "*") for action, resource in needed]
        policy = self.policies.get(function)
        denied = [access for access, (_, resource) in zip(accesses, needed, strict=True)
                  if self.enforce and policy is not None and not policy.allows(access.iam_action, resource)]
        with self._lock:
            self.observed.update(accesses)
            self.denials.extend(denied)
        return denied

    # --- botocore hooks (registered once per client; they act for the guard installed at call time) -----------
    def before_parameter_build(self, params: dict[str, Any], model: Any, context: dict[str, Any]) -> None:
        function = current_function()
        if function is None:
            return
        service = str(model.service_model.signing_name)
        operation = str(model.name)
        if context.get("is_presign_request") and service == "s3" and operation == "CreateBucket":
            operation, params = "PutObject", {"Bucket": params.get("Bucket"), "Key": "*"}  # a presigned POST
        denied = self.authorize(function, service, operation, params)
        if denied and not context.get("is_presign_request"):
            context["local_iam_denied"] = denied[0]

    @staticmethod
    def before_call(context: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
        denied: Access | None = context.get("local_iam_denied")
        if denied is None:
            return None
        from botocore.awsrequest import AWSResponse

        code, status = _DENIED_CODE.get(denied.service, ("AccessDeniedException", 400))
        role = f"arn:aws:sts::{ACCOUNT}:assumed-role/{denied.function}Role/{denied.function}"
        message = (f"User: {role} is not authorized to perform: {denied.iam_action} on resource: {denied.resource} "
                   f"because no identity-based policy allows the {denied.iam_action} action")
        body = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}
        return AWSResponse("https://local-iam", status, {}, None), body  # type: ignore[arg-type]

    # --- reports --------------------------------------------------------------------------------------------
    def usage(self, template: Template) -> dict[str, dict[str, dict[str, list[str]]]]:
        """function -> service -> resource (template logical id where known) -> sorted actions."""
        names = _arn_names(template)
        out: dict[str, dict[str, dict[str, set[str]]]] = {}
        for access in self.observed:
            resource = _resource_name(access.resource, names)
            out.setdefault(access.function, {}).setdefault(access.service, {}).setdefault(resource, set()).add(
                access.action)
        return {f: {s: {r: sorted(a) for r, a in sorted(res.items())} for s, res in sorted(svc.items())}
                for f, svc in sorted(out.items())}


def _arn_names(template: Template) -> dict[str, str]:
    resolver = _AwsRefs(template)
    names = {template.arn(lid): lid for lid in template.resources}
    names.update({resolver.ref(lid): lid for lid in template.of_type("AWS::SecretsManager::Secret",
                                                                       "AWS::SNS::Topic")})
    names[f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"] = "default"
    return names


def _resource_name(arn: str, names: dict[str, str]) -> str:
    """A logical id for the ARN (index, object and execution ARNs name their table, bucket, state machine)."""
    if arn in names:
        return names[arn]
    for suffix in ("/index/", "/stream/"):
        if suffix in arn and arn.split(suffix)[0] in names:
            return names[arn.split(suffix)[0]]
    if arn.startswith("arn:aws:s3:::") and arn.split("/")[0] in names:
        return names[arn.split("/")[0]]
    if ":execution:" in arn:
        machine = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        return names.get(machine, arn)
    return arn


# --- installation ---------------------------------------------------------------------------------------------
_active: list[AccessGuard] = []
_original_create_client: Any = None


def _before_parameter_build(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    for guard in _active:
        guard.before_parameter_build(params, model, context)


def _before_call(context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
    return AccessGuard.before_call(context)


def install(guard: AccessGuard) -> None:
    """Make ``guard`` the active one and hook every botocore client created from now on in this process."""
    global _original_create_client
    import botocore.session

    _active[:] = [guard]
    if _original_create_client is not None:
        return
    original = _original_create_client = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        client.meta.events.register("before-parameter-build", _before_parameter_build, unique_id="local-iam-params")
        client.meta.events.register("before-call", _before_call,  # type: ignore[arg-type]  # returns a response
                                    unique_id="local-iam-call")
        faults.register(client)  # crash points and seeded faults for the reliability tests (inactive otherwise)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """No guard is active any more (hooked clients keep working, unchecked); new clients are not hooked."""
    global _original_create_client
    import botocore.session

    _active.clear()
    if _original_create_client is not None:
        botocore.session.Session.create_client = _original_create_client  # type: ignore[method-assign]
        _original_create_client = None


def dump_usage(guard: AccessGuard, template: Template) -> str:
    return json.dumps(guard.usage(template), indent=2, sort_keys=True) + "\n"


def merge_usage(paths: Iterable[str]) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The union of several ``dump_usage`` files (one per test worker)."""
    merged: dict[str, dict[str, dict[str, set[str]]]] = {}
    for path in paths:
        with open(path) as fh:
            for function, services in json.load(fh).items():
                for service, resources in services.items():
                    for resource, actions in resources.items():
                        merged.setdefault(function, {}).setdefault(service, {}).setdefault(resource, set()).update(
                            actions)
    return {f: {s: {r: sorted(a) for r, a in sorted(res.items())} for s, res in sorted(svc.items())}
            for f, svc in sorted(merged.items())}

