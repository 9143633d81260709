"""GET /agents/me: the caller's agent record, float (balance) and today's usage."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import AgentResponse
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.get("/agents/me", summary="The caller's agent record, float and today's usage",
         responses=error_responses(401, 404), tags=["proxy"])
def get_my_agent() -> AgentResponse:
    agent, account, usage = wiring.agents(SETTINGS).my_agent(current_caller(app).sub)
    return AgentResponse.of(agent, account, usage)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
