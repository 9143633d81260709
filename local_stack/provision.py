"""Creates the template's tables, buckets, queues, topics, log groups, buses, secrets and state machines locally.

Everything else the template declares is skipped *explicitly*: ``NOT_EMULATED`` lists the types that exist only
on AWS (alarms, IAM, API Gateway, Cognito ...) or are handled elsewhere (functions by ``functions.py``, routes by
``gateway.py``, policies by ``iam.py``); a type in neither list is skipped with a warning, never a crash. Resources
whose ``Condition`` is false for the parameters are not created, as on CloudFormation.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from typing import Any

import boto3

from local_stack.template import ACCOUNT, REGION, Template, TemplateError

_log = logging.getLogger("local_stack")

# Declared by the template but not created in the emulator (the reason is in the module docstring).
NOT_EMULATED = frozenset({
    "AWS::Serverless::Function", "AWS::Serverless::Api", "AWS::Serverless::LayerVersion",  # functions.py, gateway.py
    "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup",  # local tokens instead
    "AWS::CloudWatch::Alarm", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::IAM::Role", "AWS::IAM::Policy",
    "AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig",
    # AppConfig: configuration documents (the real-name and verification policies) are read from the layer's file
    # locally (Metadata.LocalStack, POLICY_SOURCE=file)
    "AWS::AppConfig::Application", "AWS::AppConfig::Environment", "AWS::AppConfig::ConfigurationProfile",
})
_PROVISIONED = frozenset({
    "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::SNS::Subscription",
    "AWS::Logs::LogGroup", "AWS::Events::EventBus", "AWS::SecretsManager::Secret", "AWS::Serverless::StateMachine",
    "AWS::KMS::Key", "AWS::KMS::Alias",
})
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "FifoQueue",
                     "SqsManagedSseEnabled", "KmsMasterKeyId", "ReceiveMessageWaitTimeSeconds")

_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
               "StreamSpecification")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,  # type: ignore[call-overload]
                        aws_access_key_id="local", aws_secret_access_key="local")


def state_machine_definition(template: Template, logical_id: str) -> str:
    props = template.resources[logical_id].get("Properties") or {}
    if "DefinitionUri" in props:
        text = (template.root / str(props["DefinitionUri"])).read_text()
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    else:
        raise TemplateError(f"{logical_id} has neither DefinitionUri nor Definition")
    subs = {k: str(template.resolve(v)) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
    for key, value in subs.items():
        text = text.replace("${" + key + "}", value)
    json.loads(text)  # fail here, clearly, rather than inside the emulator
    return text


# Generated secret values, kept for the life of the process so a reset does not rotate them
# (functions cache secrets, as on AWS, where a stack update does not regenerate them either).
_generated: dict[str, str] = {}


def secret_value(name: str, props: dict[str, Any]) -> str:
    """``SecretString`` as given, or ``GenerateSecretString`` (JSON template + random key) generated once."""
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString") or {}
    if name not in _generated:
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
        value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
        if "GenerateStringKey" in spec:
            data = json.loads(spec.get("SecretStringTemplate") or "{}")
            data[spec["GenerateStringKey"]] = value
            value = json.dumps(data)
        _generated[name] = value
    return _generated[name]


_key_material: dict[str, bytes] = {}


def create_kms_key(template: Template, logical_id: str, endpoint: str) -> str:
    """A symmetric key with the template key's stable id and, for the life of the process, the same key
    material: what was encrypted before a reset still decrypts after it (moto picks a random id and material;
    both are set on its backend object, moto being in-process and pinned)."""
    from moto.kms.models import kms_backends

    props = template.resolve(template.resources[logical_id].get("Properties") or {})
    kms = client("kms", endpoint)
    created = kms.create_key(Description=str(props.get("Description", logical_id)))["KeyMetadata"]["KeyId"]
    backend = kms_backends[ACCOUNT][REGION]
    key = backend.keys.pop(created)
    key.id = template.physical_name(logical_id)
    key.arn = template.arn(logical_id)
    key.key_material = _key_material.setdefault(key.id, key.key_material)
    backend.keys[key.id] = key
    return str(key.id)


def sam_generated_queues(template: Template) -> list[str]:
    """Queues SAM creates itself: an event's ``DeadLetterConfig: {Type: SQS}`` (``QueueLogicalId`` or
    ``<Function><Event>Queue``) and an ``EventInvokeConfig`` SQS destination without ``Destination``
    (``<Function>EventInvokeConfig<OnSuccess|OnFailure>Queue``)."""
    names: list[str] = []
    for lid, res in template.of_type("AWS::Serverless::Function").items():
        for event_id, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            dlq = (event.get("Properties") or {}).get("DeadLetterConfig") or {}
            if dlq.get("Type") == "SQS" and dlq.get("Arn") is None:
                names.append(str(dlq.get("QueueLogicalId") or f"{lid}{event_id}Queue"))
        config = template.function_property(lid, "EventInvokeConfig") or {}
        for kind, dest in (config.get("DestinationConfig") or {}).items():
            if (dest or {}).get("Type") == "SQS" and dest.get("Destination") is None:
                names.append(f"{lid}EventInvokeConfig{kind}Queue")
    return names


Resources = dict[str, dict[str, Any]]


def _tables(template: Template, endpoint: str, resources: Resources) -> list[str]:
    ddb = client("dynamodb", endpoint)
    names = []
    for lid, res in resources.items():
        props = template.resolve(res.get("Properties") or {})
        name = template.physical_name(lid)
        kwargs: dict[str, Any] = {k: props[k] for k in _TABLE_KEYS if k in props}
        if "StreamSpecification" in kwargs:  # CloudFormation has only StreamViewType; the API needs StreamEnabled
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **kwargs["StreamSpecification"]}
        for gsi in kwargs.get("GlobalSecondaryIndexes", []):
            gsi.pop("ContributorInsightsSpecification", None)
        ddb.create_table(TableName=name, BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"), **kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        names.append(name)
    return names


def _buckets(template: Template, endpoint: str, resources: Resources) -> list[str]:
    s3 = client("s3", endpoint)
    for lid in resources:
        s3.create_bucket(Bucket=template.physical_name(lid))
    return [template.physical_name(lid) for lid in resources]


def _queues(template: Template, endpoint: str, resources: Resources) -> list[str]:
    sqs = client("sqs", endpoint)
    names = []
    for lid, res in resources.items():
        props = template.resolve(res.get("Properties") or {})
        attrs = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props.items()
                 if k in _QUEUE_ATTRIBUTES}
        sqs.create_queue(QueueName=template.physical_name(lid), Attributes=attrs)
        names.append(template.physical_name(lid))
    for name in sam_generated_queues(template):
        sqs.create_queue(QueueName=name)
        names.append(name)
    return names


def _topics(template: Template, endpoint: str, resources: Resources) -> list[str]:
    sns = client("sns", endpoint)
    names = []
    for lid, res in resources.items():
        if res.get("Type") == "AWS::SNS::Topic":
            sns.create_topic(Name=template.physical_name(lid))
            names.append(template.physical_name(lid))
    for res in resources.values():
        if res.get("Type") == "AWS::SNS::Subscription":
            props = template.resolve(res.get("Properties") or {})
            sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"])
    return names


def _log_groups(template: Template, endpoint: str, resources: Resources) -> list[str]:
    logs = client("logs", endpoint)
    names = []
    for lid, res in resources.items():
        props = template.resolve(res.get("Properties") or {})
        name = template.physical_name(lid)
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        names.append(name)
    return names


def _buses(template: Template, endpoint: str, resources: Resources) -> list[str]:
    events = client("events", endpoint)
    for lid in resources:
        events.create_event_bus(Name=template.physical_name(lid))
    return [template.physical_name(lid) for lid in resources]


def _secrets(template: Template, endpoint: str, resources: Resources) -> list[str]:
    secretsmanager = client("secretsmanager", endpoint)
    names = []
    for lid, res in resources.items():
        name = template.physical_name(lid)
        value = secret_value(name, template.resolve(res.get("Properties") or {}))
        secretsmanager.create_secret(Name=name, SecretString=value)
        names.append(name)
    return names


def _keys(template: Template, endpoint: str, resources: Resources) -> list[str]:
    """KMS keys with the template's stable ids (``create_kms_key``); functions may name a key by alias (``!Ref`` of
    an ``AWS::KMS::Alias`` is its name), so aliases are created after their keys."""
    kms = client("kms", endpoint)
    key_ids = {lid: create_kms_key(template, lid, endpoint) for lid, res in resources.items()
               if res.get("Type") == "AWS::KMS::Key"}
    for lid, res in resources.items():
        if res.get("Type") == "AWS::KMS::Alias":
            target = (res.get("Properties") or {})["TargetKeyId"]
            target_lid = target.get("Ref") if isinstance(target, dict) else None
            if target_lid not in key_ids:
                raise TemplateError(f"{lid}: TargetKeyId must be a !Ref to a key of the template")
            try:
                kms.create_alias(AliasName=template.ref(lid), TargetKeyId=key_ids[target_lid])
            except kms.exceptions.AlreadyExistsException:
                kms.update_alias(AliasName=template.ref(lid), TargetKeyId=key_ids[target_lid])
    return list(key_ids)


def _state_machines(template: Template, endpoint: str, resources: Resources) -> list[str]:
    sfn = client("stepfunctions", endpoint)
    role = f"arn:aws:iam::{ACCOUNT}:role/local-stepfunctions"
    for lid, res in resources.items():
        props = res.get("Properties") or {}
        sfn.create_state_machine(name=template.physical_name(lid), definition=state_machine_definition(template, lid),
                                 roleArn=role, type=str(props.get("Type", "STANDARD")),
                                 **_state_machine_observability(template, props))
    return [template.physical_name(lid) for lid in resources]


# In creation order: what later resources refer to first (rules after buses).
_PROVISIONERS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("tables", ("AWS::DynamoDB::Table",), _tables),
    ("buckets", ("AWS::S3::Bucket",), _buckets),
    ("queues", ("AWS::SQS::Queue",), _queues),
    ("topics", ("AWS::SNS::Topic", "AWS::SNS::Subscription"), _topics),
    ("log_groups", ("AWS::Logs::LogGroup",), _log_groups),
    ("buses", ("AWS::Events::EventBus",), _buses),
    ("secrets", ("AWS::SecretsManager::Secret",), _secrets),
    ("keys", ("AWS::KMS::Key", "AWS::KMS::Alias"), _keys),
    ("state_machines", ("AWS::Serverless::StateMachine",), _state_machines),
)


def provision(template: Template, endpoint: str) -> dict[str, list[str]]:
    """Create every supported resource; returns the physical names by kind (and what was skipped)."""
    from local_stack.rules import provision_rules

    included = {lid for lid in template.resources if template.included(lid)}
    created: dict[str, list[str]] = {}
    for kind, types, make in _PROVISIONERS:
        resources = {lid: res for lid, res in template.of_type(*types).items() if lid in included}
        created[kind] = make(template, endpoint, resources)
        if kind == "buses":
            created["rules"] = provision_rules(template, client("events", endpoint))
    created["skipped"] = []
    for lid, res in template.resources.items():
        rtype = str(res.get("Type"))
        if lid in included and rtype in _PROVISIONED:
            continue
        if rtype not in NOT_EMULATED and lid in included:
            _log.warning("local stack: %s (%s) is not emulated; skipped", lid, rtype)
        created["skipped"].append(f"{lid} ({rtype}{'' if lid in included else ', condition false'})")
    return created


def _state_machine_observability(template: Template, props: dict[str, Any]) -> dict[str, Any]:
    """SAM's ``Logging``/``Tracing`` as the Step Functions API's ``loggingConfiguration``/``tracingConfiguration``."""
    out: dict[str, Any] = {}
    logging_config = template.resolve(props.get("Logging") or {})
    if logging_config:
        out["loggingConfiguration"] = {
            "level": logging_config.get("Level", "OFF"),
            "includeExecutionData": bool(logging_config.get("IncludeExecutionData", False)),
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                             for d in logging_config.get("Destinations") or []],
        }
    tracing = props.get("Tracing")
    if tracing:
        out["tracingConfiguration"] = {"enabled": bool(tracing.get("Enabled", False))}
    return out
