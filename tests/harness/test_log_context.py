"""Issue 9 item 17: each local invocation logs its own request id and correlation id, even under concurrency."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local_stack.stack import LocalStack
from tests.conftest import Api
from tests.harness.fixtures import observed

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"


class _Capture(logging.Handler):
    """Formats each record with the Powertools formatter, in the logging thread (as the real handler does)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured(clean_stack: LocalStack) -> Any:
    from shared.observability import logger

    clean_stack.attach(FIXTURE)
    capture = _Capture(logger.registered_formatter)
    level = logger.log_level
    logger.setLevel("INFO")
    logger.addHandler(capture)
    yield capture
    logger.removeHandler(capture)
    observed.clear()
    logger.setLevel(level)


def test_concurrent_requests_log_their_own_request_and_correlation_ids(clean_stack: LocalStack,
                                                                        captured: _Capture) -> None:
    # Given 16 requests to one route, all in flight at once (each waits for the others before logging twice)
    api = Api(clean_stack)
    observed.control["log_barrier"] = threading.Barrier(16)
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda _: api.call("GET", "/harness/log-probe"), range(16)))
    assert all(r.status == 200 for r in replies)
    answered = {r.body["request_id"]: r.body["correlation_id"] for r in replies}

    # Then every request and correlation id is distinct ...
    assert len(answered) == 16 and len(set(answered.values())) == 16
    # ... and each request's two log lines carry exactly its own pair
    lines = [line for line in captured.lines if str(line.get("message", "")).startswith("log probe")]
    assert len(lines) == 32
    logged: dict[str, set[str | None]] = {}
    for line in lines:
        logged.setdefault(line["function_request_id"], set()).add(line.get("correlation_id"))
    assert logged == {rid: {cid} for rid, cid in answered.items()}
