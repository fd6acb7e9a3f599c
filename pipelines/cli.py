"""The ``planwatch`` command line."""

from __future__ import annotations

import argparse
import sys

from pipelines.config import Paths


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import run_once, summarize

    result = run_once()
    failed = [e for e in result.all_events if e.is_step_failure]
    for event in failed:
        print(f"step failed: {event.step_key}: {event.event_specific_data.error.message.strip()}", file=sys.stderr)
    print(f"Planwatch run {result.run_id} {'succeeded' if result.success else 'FAILED'}")
    print(summarize(Paths.from_env(), result.run_id))
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="planwatch", description="Planwatch: plan targets against statistics.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole flow once (data/raw -> data/warehouse)")
    run.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
