"""The local stack creates what it can emulate of the template's operations resources, and says what it skips."""

from __future__ import annotations

from local_stack.stack import LocalStack
from local_stack.template import Template


def test_queues_topic_and_log_groups_come_from_the_template(clean_stack: LocalStack) -> None:
    template = clean_stack.template
    sqs = clean_stack.client("sqs")
    for queue in ("InteractionCompletedDLQ", "ExpireProxyOrdersDLQ", "StartDueDrawsDLQ"):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["SqsManagedSseEnabled"] == "true" and attrs["MessageRetentionPeriod"] == "1209600"
    topics = [t["TopicArn"] for t in clean_stack.client("sns").list_topics()["Topics"]]
    assert template.resolve({"Ref": "AlarmTopic"}) in topics
    groups = {g["logGroupName"]: g.get("retentionInDays")
              for g in clean_stack.client("logs").describe_log_groups()["logGroups"]}
    expected = {lid: 365 for lid in template.of_type("AWS::Logs::LogGroup")}
    assert {name: groups.get(name) for name in expected} == expected


def test_state_machines_log_errors_without_execution_data_and_trace(clean_stack: LocalStack) -> None:
    sfn = clean_stack.client("stepfunctions")
    for machine in ("CampaignDrawStateMachine", "IdentityVerificationStateMachine"):
        desc = sfn.describe_state_machine(stateMachineArn=clean_stack.state_machine_arn(machine))
        assert desc["loggingConfiguration"]["level"] == "ERROR"
        assert desc["loggingConfiguration"]["includeExecutionData"] is False
        assert desc["tracingConfiguration"] == {"enabled": True}


def test_what_is_not_emulated_is_skipped_by_name(clean_stack: LocalStack) -> None:
    skipped = clean_stack.resources["skipped"]
    assert "ApiServerErrorRateAlarm (AWS::CloudWatch::Alarm)" in skipped
    assert "InteractionCompletedDLQPolicy (AWS::SQS::QueuePolicy)" in skipped
    # No AlarmEmail by default: the subscription's condition is false, as on CloudFormation
    assert "AlarmEmailSubscription (AWS::SNS::Subscription, condition false)" in skipped


def test_conditions_follow_the_parameters() -> None:
    assert not Template().included("AlarmEmailSubscription")
    with_email = Template(parameters={"AlarmEmail": "oncall@example.com"})
    assert with_email.condition("HasAlarmEmail") and with_email.included("AlarmEmailSubscription")
    assert with_email.resolve({"Fn::If": ["HasAlarmEmail", "yes", "no"]}) == "yes"
