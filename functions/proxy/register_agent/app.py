"""POST /admin/agents: register a payment account as a cash agent with its limits (admin)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api import build_resolver, current_caller, idempotent
from shared.api.idempotency import HEADER, request_tag
from shared.api.schemas import error_responses
from shared.observability import logger, metrics, tracer
from shared.proxy import wiring
from shared.proxy.schemas import AgentResponse, RegisterAgentRequest
from shared.proxy.settings import ProxySettings

app = build_resolver()
SETTINGS = ProxySettings.load()  # at import: a misconfigured function fails its cold start


@app.post(
    "/admin/agents",
    status_code=201,
    summary="Register an account as a cash agent (admin)",
    responses=error_responses(400, 401, 403, 404, 409, 422),
    middlewares=[idempotent(required=True)],
    tags=["admin"],
)
def register_agent(request: RegisterAgentRequest) -> AgentResponse:
    admin = current_caller(app).require("admin")
    agent = wiring.agents(SETTINGS).register_agent(admin.sub, request.account_id, request.limits.per_order,
                                                   request.limits.daily, request.display_name,
                                                   request_tag(admin.sub, app.current_event.headers[HEADER]))
    return AgentResponse.of(agent)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
