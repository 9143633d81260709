"""The emulator's partition-scoped Query (local_stack/emulator.py) returns exactly what a full filter would."""

from __future__ import annotations

from typing import Any

from local_stack import LocalStack


def _all_pages(ddb: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        resp = ddb.query(**kwargs)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def test_query_sees_only_and_all_of_its_partition(clean_stack: LocalStack) -> None:
    ddb = clean_stack.client("dynamodb")
    rows = [(f"P#{p}", f"K#{k:03d}", f"{(k * 7) % 40:03d}") for p in range(5) for k in range(40)]
    for j in range(0, len(rows), 25):
        ddb.batch_write_item(RequestItems={"CampaignsTable": [
            {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": sk}, "age": {"S": age}}}}
            for pk, sk, age in rows[j:j + 25]]})

    # Given a partition, paginated, forwards and backwards, with a key condition on the sort key
    got = _all_pages(ddb, TableName="CampaignsTable", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "P#3"}}, Limit=7, ConsistentRead=True)
    assert [i["sk"]["S"] for i in got] == [f"K#{k:03d}" for k in range(40)]
    back = ddb.query(TableName="CampaignsTable", KeyConditionExpression="pk = :p AND begins_with(sk, :k)",
                     ExpressionAttributeValues={":p": {"S": "P#1"}, ":k": {"S": "K#01"}}, ScanIndexForward=False)
    assert [i["sk"]["S"] for i in back["Items"]] == [f"K#{k:03d}" for k in range(19, 9, -1)]
    assert ddb.query(TableName="CampaignsTable", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "P#none"}})["Items"] == []
    # the LSI (an index query) is unchanged: ordered by age within the partition
    by_age = _all_pages(ddb, TableName="CampaignsTable", IndexName="ByAge", KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "P#2"}}, Limit=9)
    assert [i["age"]["S"] for i in by_age] == sorted(f"{(k * 7) % 40:03d}" for k in range(40))
    # and a scan still sees every item
    assert ddb.scan(TableName="CampaignsTable", Select="COUNT")["Count"] == 200
