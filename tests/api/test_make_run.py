"""`make run` (python -m local_stack run): starts, seeds demo users, serves the API and Swagger UI, stops."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from local_stack.template import ROOT


def test_local_platform_starts_seeds_and_serves() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "local_stack", "run", "--port", "0", "--emulator-port", "0"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        out = "".join(lines)
        assert "Ctrl-C to stop" in out, out[-3000:]
        api = re.search(r"API\s+(http://127\.0\.0\.1:\d+)", out)
        token = re.search(r"alice .*\n\s+token (\S+)", out)
        assert api and token, out[-3000:]
        req = urllib.request.Request(api.group(1) + "/accounts/me",
                                     headers={"Authorization": f"Bearer {token.group(1)}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            account = json.loads(resp.read())
        assert account["owner"] == "alice" and account["balance"] == {"amount": 100_000, "currency": "CNY"}
        # the seed's sign-ins and transfers went through the API; the ledger stream projects them into profiles
        profile: dict = {}
        for _ in range(100):
            req = urllib.request.Request(api.group(1) + "/me/activity-profile",
                                         headers={"Authorization": f"Bearer {token.group(1)}"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                profile = json.loads(resp.read())
            if profile["activity"]["by_type"].get("P2P_TRANSFER", {}).get("count_out") == 4:
                break
            time.sleep(0.2)
        assert {d["device_id"] for d in profile["devices"]} == {"demo-alice-phone", "demo-alice-laptop"}
        assert profile["sign_ins"]["count"] == 3 and profile["activity"]["by_type"]["P2P_TRANSFER"] == {
            "count_out": 4, "amount_out": 5_500, "count_in": 2, "amount_in": 5_500}
        with urllib.request.urlopen(api.group(1) + "/swagger", timeout=30) as resp:
            assert b"swagger-ui" in resp.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
