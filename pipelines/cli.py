"""The ``planwatch`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl
from dotenv import load_dotenv

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


def _facts_for_files(files: list[str], region: str | None) -> pl.DataFrame:
    """Extract every figure of the given documents; identity from a manifest.csv beside them, else the text."""
    from pipelines.lib.documents import document_identity
    from pipelines.lib.extraction import FACT_SCHEMA, extract_facts
    from pipelines.lib.reading import read_document
    from pipelines.lib.reference import load_catalog, load_regions

    paths = Paths.from_env()
    catalog, regions = load_catalog(paths.indicator_catalog), load_regions(paths.regions)
    frames = []
    for name in files:
        path = Path(name)
        doc = read_document(path)
        identity = document_identity(path, doc.text, regions)
        frames.append(extract_facts(
            doc.text, doc=path.name, region=region or identity["region_name"], doc_type=identity["doc_type"],
            period_start=identity["period_start"], period_end=identity["period_end"], year=identity["year"],
            catalog=catalog, regions=regions,
        ))
    return pl.concat(frames) if frames else pl.DataFrame(schema=FACT_SCHEMA)


def _write(frame: pl.DataFrame, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(frame.write_csv())


def cmd_extract(args: argparse.Namespace) -> int:
    from pipelines.lib.extraction import GOLD_COLUMNS

    _write(_facts_for_files(args.files, args.region).select(GOLD_COLUMNS), args.format)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from pipelines.lib.scoring import score

    gold_dir = Path(args.gold)
    files = args.files or [str(p) for p in sorted(Paths.from_env().plans_dir.glob("*.txt"))
                           if (gold_dir / f"{p.stem}.csv").exists()]
    gold = pl.concat([pl.read_csv(gold_dir / f"{Path(f).stem}.csv", infer_schema=False) for f in files])
    table = score(_facts_for_files(files, None), gold)
    if args.format == "json":
        _write(table, "json")
    else:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, float_precision=3,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="planwatch", description="Planwatch: plan targets against statistics.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole flow once (data/raw -> data/warehouse)")
    run.set_defaults(func=cmd_run)
    extract = sub.add_parser("extract", help="print every figure found in the given documents")
    extract.add_argument("files", nargs="+", metavar="FILE")
    extract.add_argument("--region", help="region the documents describe (default: manifest or text)")
    extract.add_argument("--format", choices=["csv", "json"], default="csv")
    extract.set_defaults(func=cmd_extract)
    scoring = sub.add_parser("score-extraction", help="recall/precision of extraction against hand labels")
    scoring.add_argument("--gold", required=True, help="folder of gold CSVs named like the documents")
    scoring.add_argument("files", nargs="*", metavar="FILE",
                         help="documents to score (default: every plan document that has a gold file)")
    scoring.add_argument("--format", choices=["table", "json"], default="table")
    scoring.set_defaults(func=cmd_score)
    args = parser.parse_args(argv)
    # Like the dagster CLI: settings may sit in ./.env; variables already set win.
    load_dotenv(Path.cwd() / ".env", override=False)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
