"""Starts the ``CampaignDraw`` state machine (data access: the only Step Functions user here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared import aws


class StepFunctionsDrawStarter:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    def start(self, campaign_id: str, reason: str) -> str:
        client = self._client or aws.client("stepfunctions")
        name = f"{campaign_id}-{reason}-{uuid.uuid4().hex[:8]}"[:80]
        resp = client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                      input=json.dumps({"campaign_id": campaign_id}))
        return str(resp["executionArn"])
