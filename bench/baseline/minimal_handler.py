"""The cold-start yardstick: the smallest reasonable Powertools REST handler.

Logger, Metrics, ``APIGatewayRestResolver(enable_validation=True)`` with one
route taking a pydantic body, and a boto3 DynamoDB client created at init.
No Tracer: ``bench_cold_start`` measures ``Tracer()`` on top of this
separately (set ``BASELINE_TRACER=true``).
"""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")

if os.environ.get("BASELINE_TRACER") == "true":
    from aws_lambda_powertools import Tracer

    tracer = Tracer()


class Item(BaseModel):
    name: str
    quantity: int


@app.post("/items")
def create_item(item: Item) -> dict:
    dynamodb.put_item(TableName="items", Item={"pk": {"S": item.name}, "quantity": {"N": str(item.quantity)}})
    return {"name": item.name, "quantity": item.quantity}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
