"""``python -m local_stack run|openapi|iam-usage``: the local platform from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from local_stack.stack import LocalStack
from local_stack.template import ROOT


def run(args: argparse.Namespace) -> int:
    from local_stack.seed import seed, seed_reference_data

    stack = LocalStack(api_port=args.port, emulator_port=args.emulator_port).start()
    url = stack.gateway.url
    users = seed(url) if not args.no_seed else {}
    notes = seed_reference_data(stack) if not args.no_seed else []
    print(f"\nWallet platform running locally (emulated AWS at {stack.emulator.endpoint})")
    print(f"  API         {url}")
    print(f"  Swagger UI  {url}/swagger")
    print(f"  OpenAPI     {url}/openapi.json")
    print(f"  SMS outbox  {url}/local/outbox?phone=%2B86...   (one-time codes the platform sent; local only)")
    created = {kind: names for kind, names in stack.resources.items() if kind != "skipped"}
    print(f"  Resources   {json.dumps(created)}")
    aws_only = [r for r in stack.resources["skipped"] if "AWS::Serverless::" not in r]
    print(f"  AWS only    {len(aws_only)} resources not emulated (alarms, Cognito, queue policies ...)")
    print("  IAM         every function runs under its template policies (local_stack/iam.py)")
    for title, lines in (("Schedules (fire by themselves)", stack.scheduler.describe()),
                         ("EventBridge rules -> functions", describe_rules(stack)),
                         ("Stream event source mappings", stack.streams.describe())):
        if lines:
            print(f"\n{title}:")
            for line in lines:
                print(f"  {line}")
    if users:
        print("\nDemo users (tokens valid 12 h; more with POST /local/token {\"sub\": ..., \"groups\": [...]}):")
        for name, info in users.items():
            acct = info["account"]
            bal = (f"{acct['account_id']}  balance {acct['balance']['amount']} {acct['balance']['currency']}"
                   if acct else "(admin)")
            print(f"  {name:6} {bal}\n         token {info['token']}")
        for note in notes:
            print(f"  seeded {note}")
        print(f'\nTry:  curl -H "Authorization: Bearer {users["alice"]["token"]}" {url}/accounts/me')
    print("\nCtrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    stack.stop()
    return 0


def describe_rules(stack: LocalStack) -> list[str]:
    from local_stack.rules import rules_from

    lines = []
    for spec in rules_from(stack.template):
        for target in spec.targets:
            if ":lambda:" in str(target["Arn"]):
                function = str(target["Arn"]).rsplit(":", 1)[-1]
                lines.append(f"{function:34} bus {spec.bus}, pattern {json.dumps(spec.pattern, separators=(',', ':'))}")
    return lines


def openapi(args: argparse.Namespace) -> int:
    from local_stack.openapi import build_openapi

    stack = LocalStack(api_port=None, schedules=False, streams=False).start()
    try:
        doc = build_openapi(stack.registry)
    finally:
        stack.stop()
    out = Path(args.out)
    out.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    print(f"wrote {out} ({len(doc['paths'])} paths)")
    return 0


def usage(args: argparse.Namespace) -> int:
    from local_stack.iam import merge_usage

    Path(args.out).write_text(json.dumps(merge_usage(args.files), indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m local_stack")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="start the local platform (API on :3000) and seed demo data")
    p_run.add_argument("--port", type=int, default=3000)
    p_run.add_argument("--emulator-port", type=int, default=5000)
    p_run.add_argument("--no-seed", action="store_true")
    p_run.set_defaults(func=run)
    p_api = sub.add_parser("openapi", help="write the merged OpenAPI document")
    p_api.add_argument("--out", default=str(ROOT / "docs" / "openapi.json"))
    p_api.set_defaults(func=openapi)
    p_usage = sub.add_parser("iam-usage", help="merge the AWS calls recorded per function (LOCAL_IAM_USAGE_DIR)")
    p_usage.add_argument("out")
    p_usage.add_argument("files", nargs="+")
    p_usage.set_defaults(func=usage)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
