"""IPs and coordinates are personal data: the signal routes never write them to the logs (captured output of the
handlers running in-process), and the logger erases the keys that carry them wherever they appear."""

from __future__ import annotations

import logging
import uuid

import pytest

from shared.observability import REDACTED, redact
from tests.conftest import Api

LAT, LON = "31.230416", "121.473701"


def test_sign_ins_and_refusals_do_not_log_coordinates_or_addresses(api: Api, capfd: pytest.CaptureFixture[str],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # the functions log at INFO (LogLevel); library DEBUG traces are not emitted
    user = api.user()
    body = {"device_id": "device-logcheck", "network": "WIFI", "client": {"os": "Android 14", "app_version": "1"},
            "geo": {"lat": float(LAT), "lon": float(LON)}}
    assert api.call("POST", "/sessions", body, token=user.token, key=str(uuid.uuid4())).status == 201
    bad = {**body, "geo": {"lat": 91.123457, "lon": float(LON)}}  # refused: the validation error names the field
    assert api.call("POST", "/sessions", bad, token=user.token, key=str(uuid.uuid4())).status == 422
    assert api.call("DELETE", "/me/devices/device-unknown", token=user.token).status == 404
    assert api.call("GET", "/me/activity-profile", token=user.token).status == 200
    out = capfd.readouterr()
    logged = out.out + out.err + caplog.text
    assert "request refused" in logged  # the refusals were logged ...
    for secret in (LAT, LON, "91.123457", "127.0.0.1", "sourceIp"):  # ... without the personal data
        assert secret not in logged, secret


def test_the_redactor_erases_network_and_place_keys() -> None:
    record = {"message": "sign-in", "source_ip": "203.0.113.7", "geo": {"lat": 1.0, "lon": 2.0},
              "detail": {"ip": "2001:db8::1", "latitude": 3.0, "device_id": "device-1"}}
    out = redact(record)
    assert out["source_ip"] == out["geo"] == out["detail"]["ip"] == out["detail"]["latitude"] == REDACTED
    assert out["detail"]["device_id"] == "device-1"
