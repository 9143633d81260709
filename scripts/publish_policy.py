"""Publish the verification policy document to AppConfig and deploy it (``make publish-policy STACK=<stack>``).

Validates ``shared/verification/policy.json`` (or ``--file``) with the same pydantic model the functions use,
creates a hosted configuration version of ``VerificationPolicyProfile`` and deploys it to the stack's
environment (``AppConfig.AllAtOnce`` by default; pass ``--strategy`` for a gradual one). The functions pick it up
within ``VERIFICATION_POLICY_CACHE_SECONDS``; every decision records the document's ``version``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.verification.policy import Policy
from shared.verification.settings import POLICY_FILE


def stack_ids(stack: str) -> tuple[str, str, str]:
    import boto3

    cfn = boto3.client("cloudformation")

    def physical(logical: str) -> str:
        resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical)["StackResourceDetail"]
        return str(resource["PhysicalResourceId"])

    return (physical("VerificationPolicyApplication"), physical("VerificationPolicyEnvironment"),
            physical("VerificationPolicyProfile"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/publish_policy.py", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--file", type=Path, default=POLICY_FILE)
    parser.add_argument("--strategy", default="AppConfig.AllAtOnce")
    args = parser.parse_args(argv)
    text = args.file.read_text()
    policy = Policy.model_validate_json(text)  # refuse a malformed document before it reaches any function
    import boto3

    application, environment, profile = stack_ids(args.stack)
    appconfig = boto3.client("appconfig")
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=application, ConfigurationProfileId=profile, Content=text.encode(),
        ContentType="application/json", Description=f"policy {policy.version}")["VersionNumber"]
    deployment = appconfig.start_deployment(
        ApplicationId=application, EnvironmentId=environment, DeploymentStrategyId=args.strategy,
        ConfigurationProfileId=profile, ConfigurationVersion=str(version),
        Description=f"policy {policy.version}")["DeploymentNumber"]
    print(f"policy {policy.version}: hosted version {version}, deployment {deployment} ({args.strategy})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
