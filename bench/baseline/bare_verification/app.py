"""The bare twin of POST /verifications (bench only): same request model, headers, idempotency middleware, one
record put and the same response model; no profile, history, model or rules."""

from __future__ import annotations

import os
from datetime import timedelta

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.auth import DeviceIdHeader, SessionIdHeader, client_context
from shared.clock import utcnow
from shared.observability import logger, metrics, tracer
from shared.verification.models import Decision, Level, Outcome, Risk, RiskScore, Status, Verification, new_id
from shared.verification.repository import DynamoVerificationStore
from shared.verification.schemas import CreateVerificationRequest, VerificationResponse

app = build_resolver()
STORE = DynamoVerificationStore(os.environ["VERIFICATIONS_TABLE"])
ZERO = RiskScore(score=0.0, level=Level.LOW)


@app.post("/bench/verifications", status_code=201, middlewares=[idempotent(required=True, secret_fields=("token",))])
def bare(request: CreateVerificationRequest, x_session_id: SessionIdHeader = None,
         x_device_id: DeviceIdHeader = None) -> VerificationResponse:
    client, now = client_context(app), utcnow()
    v = Verification(verification_id=new_id("ver"), owner=current_caller(app).sub, operation=request.operation,
                     session_id=client.session_id, device_id=request.context.device_id,
                     outcome=Outcome(decision=Decision.CHALLENGE, risk=Risk(account=ZERO, network=ZERO),
                                     policy_version="bare"),
                     status=Status.OPEN, created_at=now, expires_at=now + timedelta(minutes=10))
    STORE.commit([STORE.w_put_verification(v)])
    return VerificationResponse.of(v)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
