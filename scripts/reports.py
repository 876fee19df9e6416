"""Operators' view of reports (docs/moderation.md): `python -m scripts.reports list|show|resolve`.

Reads the stage's `reports` table (SPACES_TABLE_PREFIX, and AWS_ENDPOINT_URL_DYNAMODB for
DynamoDB Local; `make reports ARGS="list"` sets both for the local stack). Open reports come from
the sparse `open_reports` index, oldest first: one Query, never a Scan.

    list [--limit N]                              open reports, oldest first
    show SPACE_ID                                 every report of one Space, open or not
    resolve SPACE_ID TARGET REPORTER_ID NOTE      close one open report with a note
    end SPACE_ID REASON                           end a live Space, logged with actor "operator"
    bar SPACE_ID USER_ID REASON                   bar a user from hosting, logged in that Space

`end` and `bar` build the app's dependencies; `end` runs the whole end (stage, room and recording released) with the stage's settings, as the
API would (chalicelib/bootstrap.py reads them from the environment).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib.adapters.dynamodb.reports import DynamoReports
from chalicelib.api.moderation import report_view
from chalicelib.domain.spaces import utcnow
from chalicelib.ports import Refused


def main(argv: list[str] | None = None, reports: Any = None, out: Any = sys.stdout, deps: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.reports", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="open reports, oldest first")
    listing.add_argument("--limit", type=int, default=100)
    show = commands.add_parser("show", help="every report of one Space")
    show.add_argument("space_id")
    resolve = commands.add_parser("resolve", help="close one open report")
    for name in ("space_id", "target", "reporter_id", "note"):
        resolve.add_argument(name)
    end = commands.add_parser("end", help="end a live Space as an operator")
    end.add_argument("space_id")
    end.add_argument("reason")
    bar = commands.add_parser("bar", help="bar a user from hosting")
    for name in ("space_id", "user_id", "reason"):
        bar.add_argument(name)
    args = parser.parse_args(argv)
    if args.command in ("end", "bar"):
        return _operator_act(args, deps, out)
    reports = reports or DynamoReports()

    if args.command == "list":
        found = reports.open_reports(limit=args.limit)
    elif args.command == "show":
        found = reports.for_space(args.space_id)
    else:
        try:
            reports.resolve(args.space_id, args.target, args.reporter_id, args.note, utcnow())
        except Refused:
            print(f"no open report of {args.target} by {args.reporter_id} in {args.space_id}", file=sys.stderr)
            return 1
        print(json.dumps({"resolved": True}), file=out)
        return 0
    for r in found:
        print(json.dumps({**report_view(r), "resolution": r.resolution}), file=out)
    return 0


def _operator_act(args: argparse.Namespace, deps: Any, out: Any) -> int:
    from chalicelib import bootstrap
    from chalicelib.domain.errors import DomainError
    from chalicelib.api.bodies.moderation import reason as parse_reason
    from chalicelib.services import moderation

    deps = deps or bootstrap.deps()
    try:
        reason = parse_reason({"reason": args.reason}).reason or args.reason
        if args.command == "end":
            ended = moderation.operator_end(deps, args.space_id, reason)
            result = {"space_id": ended.id, "state": ended.state}
        else:
            barred = moderation.operator_bar_host(deps, args.space_id, args.user_id, reason)
            result = {"user_id": barred.target_id, "barred_from_hosting": True}
    except DomainError as exc:
        print(f"{exc.code}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
