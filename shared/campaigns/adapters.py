"""External systems of campaigns other than DynamoDB: the ``CampaignDraw`` state machine.

Campaign events are not published from here: the store writes each into its change's own transaction (the
transactional outbox, ``shared/outbox.py``) and ``PublishCampaignEventsFunction`` publishes them from the
Campaigns table's stream."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.aws import LazyClient


class StepFunctionsDrawStarter:
    """``DrawStarter`` on Step Functions: one execution of the ``CampaignDraw`` state machine per start."""

    client = LazyClient("stepfunctions")

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client

    def start(self, campaign_id: str, reason: str) -> str:
        name = f"{campaign_id}-{reason}-{uuid.uuid4().hex[:8]}"[:80]
        resp = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                           input=json.dumps({"campaign_id": campaign_id}))
        return str(resp["executionArn"])
