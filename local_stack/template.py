"""Reads ``template.yaml`` and resolves the intrinsics the local stack needs.

The template is the single source of truth: resource properties (key schemas,
GSIs, DefinitionUri + DefinitionSubstitutions, handlers, environment, routes)
are read from it, never copied. Physical names locally are the logical ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "wallet-local"
ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# Parameter values of the local stack (`make run` and the tests) where the AWS defaults do not fit a laptop: a
# 60-second bank confirmation window, http callbacks to loopback, users in a table (no Cognito emulation).
LOCAL_PARAMETERS = {"BindingConfirmationTimeoutSeconds": "60", "PartnerCallbacksInsecure": "true",
                    "UserDirectory": "table"}


def kms_key_id(logical_id: str) -> str:
    """The local key id of a template KMS key: stable across resets and runs, so stored ciphertexts (and data
    keys cached by warm functions) stay decryptable, as on AWS where a stack update keeps its keys."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-stack/{STACK}/{logical_id}"))


class TemplateError(Exception):
    """The template asks for something the local stack cannot resolve."""


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(name: str):  # type: ignore[no-untyped-def]
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short, _long in {
    "Ref": "Ref", "GetAtt": "Fn::GetAtt", "Sub": "Fn::Sub", "Join": "Fn::Join", "Select": "Fn::Select",
    "Split": "Fn::Split", "If": "Fn::If", "Equals": "Fn::Equals", "Not": "Fn::Not", "And": "Fn::And",
    "Or": "Fn::Or", "FindInMap": "Fn::FindInMap", "GetAZs": "Fn::GetAZs", "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64", "Condition": "Condition",
}.items():
    _CfnLoader.add_constructor(f"!{_short}", _tag(_long))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /admin/accounts/{account_id}/deposits
    function: str  # logical id
    authorizer: str | None  # None = public

    @property
    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)  # greedy {proxy+}
        return re.compile(f"^{pattern}$")


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    routes: list[Route] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def module_name(self) -> str:
        """The handler's module as an importable dotted name (repository root on sys.path)."""
        rel = self.code_uri.resolve().relative_to(ROOT)
        module, _, _ = self.handler.rpartition(".")
        return ".".join([*rel.parts, module])

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


class Template:
    def __init__(self, path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> None:
        self.path = path
        self.root = path.parent
        self.doc = load_yaml(path)
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        self.parameters = {
            name: str(p.get("Default", "")) for name, p in (self.doc.get("Parameters") or {}).items()
        }
        # What the template itself says differs locally (Metadata.LocalStack.Parameters), then the caller's.
        local = ((self.doc.get("Metadata") or {}).get("LocalStack") or {}).get("Parameters") or {}
        self.parameters.update({str(k): str(v) for k, v in local.items()})
        self.parameters.update({k: v for k, v in LOCAL_PARAMETERS.items() if k in self.parameters})
        self.parameters.update(parameters or {})
        self.globals = (self.doc.get("Globals") or {}).get("Function", {})
        self.conditions: dict[str, Any] = self.doc.get("Conditions") or {}

    # --- names and arns -------------------------------------------------------
    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def physical_name(self, logical_id: str) -> str:
        res = self.resources[logical_id]
        props = res.get("Properties") or {}
        for key in ("TableName", "BucketName", "QueueName", "Name", "FunctionName"):
            if key in props and isinstance(props[key], str):
                return str(props[key])
        if res["Type"] == "AWS::S3::Bucket":
            return f"{STACK}-{logical_id.lower()}"
        if res["Type"] == "AWS::KMS::Key":  # a key id is a UUID (moto keeps it in 36 bytes of every blob)
            return kms_key_id(logical_id)
        return logical_id

    def arn(self, logical_id: str) -> str:
        rtype = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        return {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::Cognito::UserPool": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{name}",
            "AWS::Serverless::LayerVersion": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}:1",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
        }.get(rtype, f"arn:aws:local:{REGION}:{ACCOUNT}:{logical_id}")

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": "",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.resources:
            raise TemplateError(f"!Ref to unknown name {name!r}")
        rtype = self.resources[name]["Type"]
        if rtype == "AWS::KMS::Alias":  # CloudFormation's Ref of an alias is its name (alias/...)
            return str(self.resolve((self.resources[name].get("Properties") or {})["AliasName"]))
        if rtype in ("AWS::Serverless::StateMachine", "AWS::SQS::Queue", "AWS::Serverless::LayerVersion",
                     "AWS::SNS::Topic"):
            if rtype == "AWS::SQS::Queue":
                return f"http://sqs.{REGION}.localhost/{ACCOUNT}/{self.physical_name(name)}"
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attr: str) -> str:
        if logical_id not in self.resources:
            raise TemplateError(f"!GetAtt of unknown resource {logical_id!r}")
        if attr in ("Arn", "StreamArn"):
            return self.arn(logical_id)
        if attr in ("Name", "QueueName", "TableName", "TopicName"):
            return self.physical_name(logical_id)
        if attr == "TopicArn":
            return self.arn(logical_id)
        if attr == "QueueUrl":
            return self.ref(logical_id)
        raise TemplateError(f"!GetAtt {logical_id}.{attr} is not supported locally")

    # --- intrinsic resolution -------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            intrinsic = self._INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, arg)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the local stack")
        return {k: self.resolve(v) for k, v in value.items()}

    def _get_att_of(self, arg: Any) -> Any:
        parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return self.get_att(parts[0], parts[1])

    def _join(self, arg: Any) -> str:
        sep, items = arg
        return str(sep).join(str(self.resolve(i)) for i in self.resolve(items))

    def _select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, arg: Any) -> list[str]:
        sep, text = arg
        return str(self.resolve(text)).split(sep)

    def _if(self, arg: Any) -> Any:
        name, if_true, if_false = arg
        return self.resolve(if_true if self.condition(name) else if_false)

    _INTRINSICS: ClassVar[dict[str, Callable[[Template, Any], Any]]] = {
        "Ref": lambda self, arg: self.ref(arg),
        "Fn::GetAtt": _get_att_of,
        "Fn::Sub": lambda self, arg: self._sub(arg),
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::If": _if,
    }

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved:
                return str(resolved[name])
            if "." in name and not name.startswith("AWS::"):
                res, attr = name.split(".", 1)
                return self.get_att(res, attr)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # --- conditions -----------------------------------------------------------
    def condition(self, name: str) -> bool:
        """The value of a template ``Conditions`` entry (Fn::Equals/Not/And/Or/Condition over parameters)."""
        if name not in self.conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return self._truth(self.conditions[name])

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(v) for v in arg)
            if key == "Fn::Or":
                return any(self._truth(v) for v in arg)
            if key == "Condition":
                return self.condition(str(arg))
        raise TemplateError(f"condition {value!r} is not supported by the local stack")

    def included(self, logical_id: str) -> bool:
        """False when the resource has a ``Condition`` that is false for these parameters (CloudFormation skips it)."""
        name = self.resources[logical_id].get("Condition")
        return name is None or self.condition(str(name))

    # --- functions and routes -------------------------------------------------
    def functions(self) -> dict[str, FunctionSpec]:
        genv = ((self.globals.get("Environment") or {}).get("Variables")) or {}
        api_auth = self._default_authorizers()
        specs: dict[str, FunctionSpec] = {}
        for lid, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties") or {}
            env = {**genv, **(((props.get("Environment") or {}).get("Variables")) or {})}
            spec = FunctionSpec(
                logical_id=lid,
                code_uri=self.root / str(props.get("CodeUri", self.globals.get("CodeUri", "."))),
                handler=str(props.get("Handler", self.globals.get("Handler"))),
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                events=props.get("Events") or {},
            )
            for event in spec.events.values():
                if event.get("Type") != "Api":
                    continue
                ep = event.get("Properties") or {}
                api_id = (ep.get("RestApiId") or {}).get("Ref", "ServerlessRestApi")
                auth = (ep.get("Auth") or {}).get("Authorizer", api_auth.get(api_id))
                spec.routes.append(
                    Route(method=str(ep["Method"]).upper(), path=str(ep["Path"]), function=lid,
                          authorizer=None if auth in (None, "NONE") else str(auth))
                )
            specs[lid] = spec
        return specs

    def _default_authorizers(self) -> dict[str, str | None]:
        return {
            lid: ((res.get("Properties") or {}).get("Auth") or {}).get("DefaultAuthorizer")
            for lid, res in self.of_type("AWS::Serverless::Api").items()
        }

    def routes(self) -> list[Route]:
        routes = [r for f in self.functions().values() for r in f.routes]
        # Literal segments win over parameters, as in API Gateway.
        return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))

    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for res in self.of_type("AWS::Serverless::Api").values():
            out.update(((res.get("Properties") or {}).get("GatewayResponses")) or {})
        return out

    def function_property(self, logical_id: str, name: str) -> Any:
        """A function property, falling back to ``Globals.Function`` as SAM does (unresolved)."""
        props = self.resources[logical_id].get("Properties") or {}
        return props[name] if name in props else self.globals.get(name)

    def common_environment(self) -> dict[str, str]:
        genv = ((self.globals.get("Environment") or {}).get("Variables")) or {}
        return {k: str(self.resolve(v)) for k, v in genv.items()}
