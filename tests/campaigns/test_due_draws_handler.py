"""The scheduled draw starter, run as EventBridge Scheduler runs it: its handler, its sample event, its policies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.campaigns.helpers import create_campaign
from tests.conftest import Api
from tests.events import load_event


def test_the_scheduler_starts_a_due_draw_once_and_it_settles(api: Api) -> None:
    # Given a campaign whose draw time passes a moment after it is created
    draw_at = datetime.now(UTC) + timedelta(seconds=1.5)
    cid = create_campaign(api, draw_at=draw_at.isoformat())["campaign_id"]
    time.sleep(max(0.0, (draw_at - datetime.now(UTC)).total_seconds()) + 0.1)
    # When the schedule fires (twice)
    first = api.stack.invoke("StartDueDrawsFunction", load_event("campaigns/start_due_draws"))
    second = api.stack.invoke("StartDueDrawsFunction", load_event("campaigns/start_due_draws"))
    # Then the draw was started once (the due entry is unlisted: DeleteItem) and runs to the end
    assert (first["started"], second["started"]) == ([cid], [])
    deadline = time.monotonic() + 30
    while (status := api.call("GET", f"/campaigns/{cid}", token=api.token("someone")).body["status"]) != "SETTLED":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
