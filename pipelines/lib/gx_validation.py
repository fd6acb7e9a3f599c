"""Great Expectations suites on the warehouse tables, run after each load (GX Core 1.x).

One suite per table, kept by hand in ``expectations/<table>.json`` (each expectation: ``type``,
``kwargs``, ``meta.check`` = its name, ``notes`` = why it matters, and ``severity``). GX has no DuckDB
engine (STACK-NOTES §4), so every suite runs in an ephemeral context on a pandas frame read from the
staging warehouse; the frame may add the columns an expectation needs (the indicator's value_kind for
ranges per unit, yoy_ratio for the year-over-year check, _source_file/_location to point at the input).
Bounds and allowed values shared with the pandera models (schemas.py) and the reference keys for
referential integrity come in as suite parameters (``{"$PARAMETER": name}``), so both layers check
against the same lists.

What a failing row leads to:
- severity critical (the data is broken: a missing key, an unknown region, an impossible value):
  a ``validation_issue`` row with severity 'error', and the row copied to ``rejected_row`` with stage
  ``validate:<table>.<check>``; the alerts step holds back alerts on the targets it touches.
- severity warning (implausible, e.g. PM2.5 changing by a factor of five in a year): a
  ``validation_issue`` row with severity 'warning'; shown, blocks nothing.
Rows the pandera layer quarantined in this run also become 'error' issues on their region and
indicator. Data Docs (static HTML) are rebuilt under ``<warehouse>/data_docs/`` every run.

What a run judges: the rows it wrote and the rows it stands on, never the whole history again.
- region, indicator, document, extracted_fact, target: rebuilt from the inputs every run, so whole.
- observation: the values this run added (run_id) and the values it chose (is_chosen is rewritten
  at every load: they are the figures its assessments, report and emails rest on).
- assessment, rejected_row: this run's rows (run_id).
- alert: the rows the previous run wrote (last_run_id). Alerts are written after validation, so
  each run judges what the run before it wrote.
Within that, a row that already passed a suite's row-by-row expectations, unchanged in every column the
suite reads (its join columns too: the previous year's value, a key found in its table; a column only
checked for being present, such as the assessment's run_id, by whether it is null), under the same
suite, frame SQL, parameters, code, GX and DuckDB, would pass again: ``PassedRows`` keeps the 64-bit hashes
of such rows under <warehouse>/cache/validation/, and they are not handed to GX again (at national size
that is 1.2 M chosen observations a night); DuckDB hashes the rows, and only the rows GX must see leave
it whole (``TableRows``). A row that failed is never kept, so it is judged, reported
and quarantined in every run that has it, exactly as without the memo; uniqueness (a property of the
whole table) is judged on the whole table, as a second validation "<table>.whole_table", over the rows
whose key hash occurs more than once (a key that occurs once cannot break it; equal keys hash alike).
A row of the past that no run writes or stands on any more is judged by the run that wrote it and
never again: a broken one is reported once (one rejected_row, one issue) and holds alerts in that
run only, instead of adding both every night and holding its target's alerts forever. A broken
row that a run writes or relies on again (the same bad figure in this year's input, an open alert
rewritten) is reported again, as it should be. A hand edit into a history table is not judged: it
reaches no assessment, report or email (those come from the run's own inputs, and the load resets
is_chosen to the run's choice), and the row stays in the table for whoever wants to audit it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from pipelines.config import EXPECTATIONS_DIR
from pipelines.lib import schemas
from pipelines.lib.documents import DOC_TYPES
from pipelines.lib.observations import SOURCE_RANKS
from pipelines.lib.parquet_cache import ParquetCache, code_digest, read_parquet_paths
from pipelines.lib.reference import PERIODS
from pipelines.lib.targets import TARGET_KINDS
from pipelines.lib.warehouse import Warehouse

DOCS_SITE = "planwatch"
ISSUE_SEVERITY = {"critical": "error", "warning": "warning", "info": "warning"}
YOY_FACTOR = 5.0  # a chosen level that changes by this factor (or more) in one year is implausible
YOY_VALUE_KINDS = ("level", "share", "ratio")  # stocks, shares, ratios: counts of new things may well jump

# The frame each suite validates: whole current-state tables, the history rows this run wrote or
# stands on ($run_id; see the module docstring).
# Referential checks compare a key with the same key found by a join (GX would otherwise copy a list of
# every region code / document id into each expectation's configuration, many times per suite: 15 s).
def _known(table: str, key: str, alias: str) -> str:
    return f"LEFT JOIN (SELECT DISTINCT {key} AS {alias} FROM {table}) ON {alias} = "


FRAMES = {
    "region": "SELECT region.*, _parent_in_table, 'reference/regions.csv' AS _source_file, "
              "'region ' || region.region_code AS _location FROM region "
              + _known("region", "region_code", "_parent_in_table") + "region.parent_code",
    "indicator": "SELECT *, 'reference/indicators.csv' AS _source_file, 'indicator ' || indicator_key AS _location "
                 "FROM indicator",
    "document": "SELECT document.*, _region_in_table, file AS _source_file, 'whole document' AS _location FROM document "
                + _known("region", "region_code", "_region_in_table") + "document.region_code",
    "extracted_fact": "SELECT f.*, _doc_in_table, _region_in_table, doc AS _source_file, 'line ' || line AS _location "
                      "FROM extracted_fact f " + _known("document", "doc_id", "_doc_in_table") + "f.doc_id "
                      + _known("region", "region_code", "_region_in_table") + "f.region_code",
    "target": """
        SELECT t.*, i.value_kind, _doc_in_table, _region_in_table, d.file AS _source_file, 'line ' || t.line AS _location
        FROM target t LEFT JOIN indicator i USING (indicator_key) LEFT JOIN document d USING (doc_id) """
              + _known("document", "doc_id", "_doc_in_table") + "t.doc_id "
              + _known("region", "region_code", "_region_in_table") + "t.region_code",
    "observation": """
        -- not materialized: each use reads only the columns it needs (materialized, all of them twice)
        WITH o AS NOT MATERIALIZED (
            SELECT o.*, i.value_kind, _region_in_table FROM observation o LEFT JOIN indicator i USING (indicator_key) """
                   + _known("region", "region_code", "_region_in_table") + """o.region_code),
        judged AS (  -- one previous value per key, so that the join never repeats a row (two chosen
                     -- values for a year break one_chosen_per_key; the smaller one is compared with)
            SELECT region_code, indicator_key, value_type, year, min(value) AS value FROM o
            WHERE is_chosen AND value_type = 'level' AND list_contains($yoy_kinds, value_kind)
            GROUP BY ALL)
        SELECT o.*, p.value AS previous_value, CASE WHEN p.value > 0 THEN o.value / p.value END AS yoy_ratio,
               o.source_file AS _source_file, o.location AS _location
        FROM o LEFT JOIN judged p
          ON o.is_chosen AND o.value_type = 'level' AND p.region_code = o.region_code
         AND p.indicator_key = o.indicator_key AND p.value_type = o.value_type AND p.year = o.year - 1
        WHERE o.run_id = $run_id OR o.is_chosen""",
    "assessment": "SELECT a.*, _target_in_table, 'assessment' AS _source_file, 'target ' || a.target_id AS _location "
                  "FROM assessment a " + _known("target", "target_id", "_target_in_table") + "a.target_id "
                  "WHERE a.run_id = $run_id",
    "alert": """
        WITH previous_run AS (  -- v_latest_run's order, this run left out
            SELECT run_id FROM assessment WHERE run_id <> $run_id
            GROUP BY run_id ORDER BY max(assessed_at) DESC NULLS LAST, run_id DESC LIMIT 1)
        SELECT *, 'alert' AS _source_file, 'alert ' || alert_id AS _location FROM alert
        WHERE last_run_id IN (SELECT run_id FROM previous_run)""",
    "rejected_row": "SELECT *, source_file AS _source_file, location AS _location FROM rejected_row "
                    "WHERE run_id = $run_id",
}
ISSUE_KEYS = ("region_code", "indicator_key", "target_id")
ISSUE_YEARS = ("year", "target_year", "latest_year")  # the first a table has is the issue's year
EXPECTATION_COLUMNS = {"check": pl.String, "severity": pl.String, "success": pl.Boolean,
                       "unexpected": pl.Int64, "columns": pl.String, "notes": pl.String, "examples": pl.String}


@dataclass
class SuiteResult:
    table: str
    expectations: pl.DataFrame  # one row per expectation: check, severity, success, unexpected, columns, ...
    failures: pl.DataFrame  # one row per failing row x expectation: issue columns + source_file, location, raw
    rows_judged: int = 0  # rows handed to the row-by-row expectations this run
    rows_passed_before: int = 0  # rows not judged again: they passed before, unchanged (PassedRows)

    @property
    def passed(self) -> bool:
        return bool(self.expectations["success"].all())

    @property
    def severity(self) -> str | None:
        """'error' when a critical expectation failed, 'warning' when only warnings did, else None."""
        failed = self.expectations.filter(~pl.col("success"))["severity"]
        return "error" if (failed == "error").any() else ("warning" if failed.len() else None)


@dataclass
class WarehouseValidation:
    suites: list[SuiteResult]
    docs_index: Path | None
    pages: dict[str, Path]  # table (and table.whole_table) -> this run's Data Docs page (static HTML)
    issues: int
    quarantined_issues: int


def suite_names() -> list[str]:
    return sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


def load_suite(name: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def suite_parameters(con: duckdb.DuckDBPyConnection) -> dict:
    """Bounds and lists the suites refer to as {"$PARAMETER": name}."""
    def keys(sql: str) -> list[str]:
        return [row[0] for row in con.execute(sql).fetchall()]

    return {
        "first_year": schemas.FIRST_YEAR, "last_year": schemas.LAST_YEAR,
        "share_min": schemas.SHARE_RANGE[0], "share_max": schemas.SHARE_RANGE[1],
        "concentration_min": schemas.CONCENTRATION_RANGE[0], "concentration_max": schemas.CONCENTRATION_RANGE[1],
        "change_pct_floor": schemas.CHANGE_PCT_FLOOR,
        "yoy_min": 1 / YOY_FACTOR, "yoy_max": YOY_FACTOR,
        "indicator_keys": keys("SELECT indicator_key FROM indicator WHERE indicator_key IS NOT NULL"),
        "region_levels": list(schemas.REGION_LEVELS), "directions": list(schemas.DIRECTIONS),
        "value_kinds": list(schemas.VALUE_KINDS), "doc_types": list(DOC_TYPES), "periods": list(PERIODS),
        "fact_kinds": list(schemas.FACT_KINDS), "value_types": list(schemas.VALUE_TYPES),
        "comparators": list(schemas.COMPARATORS), "attributes": list(schemas.ATTRIBUTES),
        "target_kinds": list(TARGET_KINDS), "statuses": list(schemas.STATUSES),
        "severities": list(schemas.SEVERITIES), "growth_categories": list(schemas.GROWTH_CATEGORIES),
        "alert_states": list(schemas.ALERT_STATES), "alert_types": list(schemas.ALERT_TYPES),
        "source_kinds": list(SOURCE_RANKS),
    }


def _relation(con: duckdb.DuckDBPyConnection, sql: str, *, run_id: str):
    """A frame query with ``$run_id`` and ``$yoy_kinds`` bound where it uses them."""
    params = {k: v for k, v in {"run_id": run_id, "yoy_kinds": list(YOY_VALUE_KINDS)}.items() if f"${k}" in sql}
    return con.sql(sql, params=params)


def _read(con: duckdb.DuckDBPyConnection, sql: str, *, run_id: str) -> pl.DataFrame:
    return _relation(con, sql, run_id=run_id).pl()


_preload: threading.Thread | None = None


def preload_great_expectations() -> None:
    """Import GX (about 2.5 s) in a background thread, so that it is ready when the validation step needs it.

    For a run in one process, started by the step before validation, whose time goes to DuckDB outside the
    GIL, so the import runs beside it. A failed import is left to the validation step, which imports GX
    again and raises there."""
    global _preload
    if _preload is None and "great_expectations" not in sys.modules:
        _preload = threading.Thread(target=_import_great_expectations, name="preload-great-expectations",
                                    daemon=True)
        _preload.start()


def _import_great_expectations() -> None:
    with contextlib.suppress(Exception):
        import great_expectations  # noqa: F401


def _context(docs_dir: Path | None):
    if _preload is not None:
        _preload.join()  # one import at a time: never two threads inside GX's module imports
    import great_expectations as gx  # slow import (~2.5 s): only when a validation runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.get_site_names()):
        context.delete_data_docs_site(site)
    if docs_dir is not None:
        context.add_data_docs_site(site_name=DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        })
    return context


def run_suites(con: duckdb.DuckDBPyConnection, *, run_id: str, docs_dir: Path | None = None,
               names: list[str] | None = None, memo_dir: Path | None = None) -> tuple[list[SuiteResult], Path | None]:
    """Run every suite (or ``names``) on the staging warehouse; with ``docs_dir``, rebuild Data Docs there.
    With ``memo_dir``, rows that passed a suite's row-by-row expectations before, unchanged, are not
    judged again (``PassedRows``)."""
    context = _context(docs_dir)
    source = context.data_sources.add_pandas("warehouse")
    parameters = suite_parameters(con)
    code = PassedRows.code_version() if memo_dir is not None else ""
    results = []
    for name in names or suite_names():
        spec = load_suite(name)
        by_row, whole, _ = _split(spec)
        memo = PassedRows.of(memo_dir, name, spec, parameters, code) if memo_dir is not None else None
        rows = TableRows.read(con, name, spec, memo.passed() if memo is not None else None, run_id=run_id)
        parts = [_validate(context, source, name, by_row, rows.judged, parameters, run_id=run_id)]
        if whole["expectations"]:
            parts.append(_validate(context, source, f"{name}.{WHOLE_TABLE}", whole, rows.candidates, parameters,
                                   run_id=run_id, table=name))
        if memo is not None:
            failed = rows.judged_verdicts.filter(rows.judged[FRAME_ROW].is_in(parts[0].failures["_row"].implode()))
            memo.store(rows.verdicts.filter(~rows.verdicts.is_in(failed.implode())))
        results.append(_merged(name, spec, parts, judged=rows.judged.height,
                               skipped=rows.verdicts.len() - rows.judged.height))
        del rows  # one table's frames at a time
    index = None
    if docs_dir is not None:
        shutil.rmtree(docs_dir, ignore_errors=True)  # one site per run: no stale pages of earlier runs
        context.build_data_docs(site_names=[DOCS_SITE])
        index = docs_dir / "index.html"
    return results, index


FRAME_ROW = "_frame_row"
VERDICT = "_verdict"  # a row's hash of what its row-by-row verdict depends on (PassedRows keeps those that passed)
WHOLE_TABLE = "whole_table"
UNIQUENESS_TYPES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
# Expectations whose verdict on a row depends on that row alone: only these may skip rows that passed before.
ROW_BY_ROW_TYPES = (
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set", "expect_column_values_to_be_between",
    "expect_column_pair_values_to_be_equal", "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_values_to_match_regex", "expect_column_value_lengths_to_be_between",
)


def _split(spec: dict) -> tuple[dict, dict, bool]:
    """The suite's expectations judged row by row; the others, judged on the whole table; and whether the
    others are all uniqueness checks (then only rows whose key repeats need judging). An expectation with
    ``mostly`` is a share of the table, so it is judged on the whole table too."""
    def row_by_row(e: dict) -> bool:
        return e["type"] in ROW_BY_ROW_TYPES and "mostly" not in e["kwargs"]

    by_row = [e for e in spec["expectations"] if row_by_row(e)]
    whole = [e for e in spec["expectations"] if not row_by_row(e)]
    only_uniqueness = all(e["type"] in UNIQUENESS_TYPES and "mostly" not in e["kwargs"] for e in whole)
    return {**spec, "expectations": by_row}, {**spec, "expectations": whole}, only_uniqueness


def _may_select(condition) -> pl.Expr:
    """The rows a row condition may select: exact for ``column == literal`` and "and" of such; every row
    for any other condition (a superset is always safe here)."""
    if not isinstance(condition, dict):
        return pl.lit(True)
    if condition.get("type") == "and":
        return pl.all_horizontal([pl.lit(True), *(_may_select(c) for c in condition.get("conditions", []))])
    column, value = condition.get("column"), condition.get("parameter")
    if (condition.get("type") == "comparison" and condition.get("operator") == "==" and isinstance(column, dict)
            and isinstance(value, (bool, int, float, str))):
        return (pl.col(column["name"]) == value).fill_null(False)
    return pl.lit(True)


@dataclass
class TableRows:
    """What the validation of one table needs of its frame: every row's verdict hash (for the memo), the whole
    rows GX must judge row by row (their verdict has not passed before), and the whole rows the whole-table
    expectations must see: for uniqueness alone, the rows whose key hash repeats among the rows its row
    condition may select (a key that occurs once cannot break it; equal keys hash alike, so nothing is
    missed, and a collision only adds a row); for any other, every row. Each part's failures name a row by
    its place in the frame read (FRAME_ROW), whatever part judged it."""

    verdicts: pl.Series
    judged: pl.DataFrame
    judged_verdicts: pl.Series
    candidates: pl.DataFrame

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, table: str, spec: dict, passed: pl.Series | None, *,
             run_id: str) -> TableRows:
        """DuckDB hashes the rows. With rows that passed before, it first hands over only the hashes (and the
        columns of the uniqueness conditions), then the whole rows of the few GX must see: reading every
        column of every row was most of an incremental run's validation."""
        by_row, whole, whole_rows_only = _split(spec)
        sql = FRAMES.get(table, f"SELECT * FROM {table}")
        keyed = whole["expectations"] if whole_rows_only else []
        keys = {f"_key{i}": _columns(e["kwargs"]) for i, e in enumerate(keyed)}
        selected = {key: _may_select(e["kwargs"].get("row_condition")) for key, e in zip(keys, keyed, strict=True)}
        verdict = _verdict_sql(by_row, _relation(con, sql, run_id=run_id).columns)
        hashed = (f"SELECT *, {_hash_sql(verdict)} AS {VERDICT}"
                  + "".join(f", {_hash_sql([_quoted(c) for c in cols])} AS {key}" for key, cols in keys.items())
                  + f" FROM ({sql})")
        unseen = passed is None or passed.is_empty()  # no memo, or none for this version: judge every row
        whole_rows = unseen or not whole_rows_only
        if whole_rows:  # GX sees every row: read them whole at once
            frame = index = _read(con, hashed, run_id=run_id)
        else:
            conditions = sorted(set().union(*(_condition_columns(e["kwargs"].get("row_condition")) for e in keyed)))
            index = _read(con, f"SELECT {', '.join([VERDICT, *keys, *map(_quoted, conditions)])} FROM ({hashed})",
                          run_id=run_id)
        new = None if unseen else index[VERDICT].filter(~index[VERDICT].is_in(passed.implode())).unique()
        repeated = {key: _repeated(index, key, selected[key]) for key in keys}
        if not whole_rows:
            frame = _read_where(con, hashed, {VERDICT: new, **repeated}, run_id=run_id)
        frame = frame.with_row_index(FRAME_ROW)
        judged = frame if new is None else frame.filter(pl.col(VERDICT).is_in(new.implode()))
        candidates = frame.filter(pl.any_horizontal(pl.lit(False), *(
            selected[key] & pl.col(key).is_in(repeated[key].implode()) for key in keys))) if whole_rows_only else frame
        return cls(index[VERDICT], judged.drop(VERDICT, *keys), judged[VERDICT], candidates.drop(VERDICT, *keys))


def _repeated(frame: pl.DataFrame, column: str, selected: pl.Expr) -> pl.Series:
    """The values of ``column`` that occur more than once among the rows ``selected`` picks."""
    return frame.filter(selected).select(pl.col(column).filter(pl.col(column).is_duplicated()).unique())[column]


def _read_where(con: duckdb.DuckDBPyConnection, hashed: str, wanted: dict[str, pl.Series], *,
                run_id: str) -> pl.DataFrame:
    """The rows of ``hashed`` whose hash column (a key of ``wanted``) holds one of its values."""
    values = pl.concat([pl.DataFrame({"part": part, "hash": hashes}, schema={"part": pl.String, "hash": pl.UInt64})
                        for part, hashes in wanted.items()])
    if values.is_empty():
        return _read(con, f"{hashed} LIMIT 0", run_id=run_id)
    con.register("gx_wanted_hashes", values)
    try:
        where = " OR ".join(f"{part} IN (SELECT hash FROM gx_wanted_hashes WHERE part = '{part}')" for part in wanted)
        return _read(con, f"SELECT * FROM ({hashed}) WHERE {where}", run_id=run_id)
    finally:
        con.unregister("gx_wanted_hashes")


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _hash_sql(expressions: list[str]) -> str:
    return f"hash({', '.join(expressions)})" if expressions else "0::UBIGINT"


def _verdict_sql(spec: dict, frame_columns: list[str]) -> list[str]:
    """What a row-by-row verdict of ``spec`` depends on: the columns it reads, except that a column only
    checked for being present enters as whether it is null (run_id: a new value every run, the same verdict)."""
    null_only = _null_only_columns(spec)
    return [f"({_quoted(c)} IS NULL)" if c in null_only else _quoted(c) for c in suite_columns(spec, frame_columns)]


def _null_only_columns(spec: dict) -> set[str]:
    """Columns that only not-null expectations read (none when one expectation may read any column: a
    query-string row condition, or one that reads the table as a whole)."""
    null_only, read_otherwise = set(), set()
    for expectation in spec["expectations"]:
        kwargs = expectation["kwargs"]
        condition = kwargs.get("row_condition")
        if isinstance(condition, str) or not _columns(kwargs):
            return set()
        read_otherwise |= _condition_columns(condition)
        is_null_check = expectation["type"] == "expect_column_values_to_not_be_null"
        (null_only if is_null_check else read_otherwise).update(_columns(kwargs))
    return null_only - read_otherwise


def _validate(context, source, name: str, spec: dict, frame: pl.DataFrame, parameters: dict, *, run_id: str,
              table: str | None = None) -> SuiteResult:
    """One GX validation of ``spec`` over ``frame`` (named ``name`` in the Data Docs)."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole table")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=spec["expectations"],
                                                   meta=spec.get("meta", {})))
    if len(suite.expectations) != len(spec["expectations"]):  # GX logs and skips one it cannot build
        raise ValueError(f"expectations/{table or name}.json: {len(spec['expectations']) - len(suite.expectations)} "
                         "expectation(s) could not be built; see the log above")
    # Run directly, not through a Checkpoint: one would only add its own bookkeeping (we attach no actions;
    # the result is stored for the Data Docs all the same), a tenth of a second per suite.
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    # GX copies its frame for every row condition and metric: hand it only the columns the suite reads;
    # the whole row stays in ``frame`` for the failing rows' raw. Same rows in the same order, so GX's
    # row indexes point into it.
    data = pandas_frame(frame.select(suite_columns(spec, frame.columns)))
    outcome = validation.run(batch_parameters={"dataframe": data}, expectation_parameters=parameters,
                             result_format={"result_format": "COMPLETE"}, run_id=RunIdentifier(run_name=run_id))
    del data
    forget_batches(source)
    return _suite_result(table or name, frame, outcome, run_id=run_id)


def _merged(table: str, spec: dict, parts: list[SuiteResult], *, judged: int, skipped: int) -> SuiteResult:
    """The parts of one suite as one result, its expectations in the suite's order."""
    order = {f"{table}.{e.get('meta', {}).get('check', e['type'])}": i for i, e in enumerate(spec["expectations"])}
    expectations = pl.concat([p.expectations for p in parts])
    return SuiteResult(
        table,
        expectations.sort(pl.col("check").replace_strict(order, default=len(order)), maintain_order=True),
        pl.concat([p.failures for p in parts], how="vertical_relaxed"),
        rows_judged=judged, rows_passed_before=skipped,
    )


@dataclass
class PassedRows:
    """The hashes of the rows (the columns a suite reads) that passed its row-by-row expectations, kept
    under a version of everything the verdict depends on: the suite, the frame's SQL, the parameters,
    this module's code, GX, polars and DuckDB. Such a row, unchanged, would pass again: it is not judged again.
    A row that failed is never kept, so it is judged, and reported, in every run that has it."""

    cache: ParquetCache

    @staticmethod
    def code_version() -> str:
        """This module's code (and what it imports), GX, polars and DuckDB (it hashes the rows): taken once per run."""
        import great_expectations as gx

        return code_digest(__name__, f"passed rows 2|gx {gx.__version__}|duckdb {duckdb.__version__}").hexdigest()

    @classmethod
    def of(cls, root: Path, table: str, spec: dict, parameters: dict, code: str) -> PassedRows:
        digest = hashlib.sha256(code.encode())
        for part in (json.dumps(spec, sort_keys=True), FRAMES.get(table, ""), json.dumps(parameters, sort_keys=True,
                                                                                          default=str)):
            digest.update(part.encode())
        return cls(ParquetCache(Path(root) / table, digest.hexdigest()[:16]))

    def passed(self) -> pl.Series:
        path = self.cache.path("passed")
        return read_parquet_paths(path)["hash"] if path.exists() else pl.Series("hash", [], dtype=pl.UInt64)

    def store(self, hashes: pl.Series) -> None:
        self.cache.store("passed", hashes.unique().alias("hash").to_frame())
        self.cache.prune({"passed"})


def suite_columns(spec: dict, frame_columns: list[str]) -> list[str]:
    """The frame columns a suite's expectations read (their columns and row conditions), in frame order;
    all of them when one reads the table as a whole or filters with a query string."""
    read: set[str] = set()
    for expectation in spec["expectations"]:
        columns, condition = _columns(expectation["kwargs"]), expectation["kwargs"].get("row_condition")
        if not columns or isinstance(condition, str):
            return list(frame_columns)
        read.update(columns, _condition_columns(condition))
    return [c for c in frame_columns if c in read]


def _condition_columns(condition) -> set[str]:
    """Columns a row condition ({"type": "comparison", "column": {"name": ...}} or "and"/"or" of them) reads."""
    if not isinstance(condition, dict):
        return set()
    column = condition.get("column")
    named = {column["name"]} if isinstance(column, dict) and "name" in column else set()
    return named.union(*(_condition_columns(c) for c in condition.get("conditions", [])))


def pandas_frame(frame: pl.DataFrame) -> pd.DataFrame:
    """``frame.to_pandas()`` with each distinct string one Python object: the same values and dtypes
    (object, None for null), without a string object per row (a few values repeat over a million rows)."""
    columns = {}
    for name, series in frame.to_dict().items():
        if series.dtype == pl.String:
            distinct = series.unique(maintain_order=True).drop_nulls()
            codes = series.cast(pl.Enum(distinct)).to_physical().fill_null(distinct.len()).to_numpy()
            columns[name] = np.array([*distinct.to_list(), None], dtype=object)[codes]
        else:
            columns[name] = series.to_pandas()
    return pd.DataFrame(columns, index=pd.RangeIndex(frame.height))


def forget_batches(source) -> None:
    """Let go of the frames a pandas data source keeps for every batch it validated: its execution engine
    holds each one (batch and batch data caches) for as long as the context lives, so that one table's
    frame would otherwise stay in memory through every later suite and the Data Docs build."""
    batches = source.get_execution_engine().batch_manager
    batches.reset_batch_cache()
    batches.batch_data_cache.clear()


def _columns(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]


def _suite_result(table: str, frame: pl.DataFrame, validation, *, run_id: str) -> SuiteResult:
    expectations, failures = [], []
    indexed = frame.with_row_index("_row")
    for result in validation.results:
        config = result.expectation_config
        check = config.meta.get("check", config.type)
        severity = ISSUE_SEVERITY[config.severity.value]
        columns = _columns(config.kwargs)
        if result.exception_info and result.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectations/{table}.json: {check} could not be evaluated: "
                               f"{result.exception_info.get('exception_message')}")
        rows = [int(i) for i in result.result.get("unexpected_index_list") or []]
        examples = result.result.get("partial_unexpected_list") or []
        expectations.append({
            "check": f"{table}.{check}", "severity": severity, "success": bool(result.success),
            "unexpected": int(result.result.get("unexpected_count") or 0), "columns": ", ".join(columns),
            "notes": config.notes, "examples": ", ".join(str(v) for v in examples[:5]),
        })
        if rows:
            # rechunk: a frame read in several chunks, filtered, keeps empty chunks, and polars 2.1's
            # pl.format panics on those ("assertion failed: i < self.len()").
            failures.append(_failing_rows(indexed.filter(pl.col("_row").is_in(rows)).rechunk(), table, check,
                                          severity, columns, config.notes, run_id=run_id))
    return SuiteResult(
        table,
        pl.DataFrame(expectations, schema=EXPECTATION_COLUMNS),
        pl.concat(failures, how="vertical_relaxed") if failures else _empty_failures(),
    )


def _failing_rows(rows: pl.DataFrame, table: str, check: str, severity: str, columns: list[str],
                  notes: str | None, *, run_id: str) -> pl.DataFrame:
    # Helper columns (a key found by a join, _target_in_table) say nothing the key itself does not.
    shown = pl.concat_str([pl.format("{}={}", pl.lit(c), pl.col(c).cast(pl.String).fill_null("NULL"))
                           for c in columns if not c.startswith("_")] or [pl.lit(check)], separator=", ")
    present = [c for c in rows.columns if not c.startswith("_")]
    years = [c for c in ISSUE_YEARS if c in rows.columns]
    return rows.select(
        pl.col(FRAME_ROW).cast(pl.UInt32).alias("_row"),  # the row's place in the whole frame (run_suites)
        pl.lit(run_id).alias("run_id"),
        pl.lit(table).alias("table_name"),
        pl.lit(f"{table}.{check}").alias("check_name"),
        pl.lit(severity).alias("severity"),
        *[(pl.col(k).cast(pl.String) if k in rows.columns else pl.lit(None, pl.String)).alias(k) for k in ISSUE_KEYS],
        (pl.coalesce(*years).cast(pl.Int32) if years else pl.lit(None, pl.Int32)).alias("year"),
        pl.format("{}: {}", shown, pl.lit(notes or check)).alias("detail"),
        pl.col("_source_file").cast(pl.String).alias("source_file"),
        pl.col("_location").cast(pl.String).alias("location"),
        pl.struct(present).struct.json_encode().alias("raw"),
    )


def _empty_failures() -> pl.DataFrame:
    return pl.DataFrame(schema={"_row": pl.UInt32, "run_id": pl.String, "table_name": pl.String, "check_name": pl.String,
                                "severity": pl.String, **{k: pl.String for k in ISSUE_KEYS}, "year": pl.Int32,
                                "detail": pl.String, "source_file": pl.String, "location": pl.String,
                                "raw": pl.String})


def record_quarantine_issues(con: duckdb.DuckDBPyConnection, *, run_id: str, found_at: datetime) -> int:
    """An 'error' issue for every row the pandera layer quarantined in this run (schemas.quarantine_invalid
    writes the row as JSON in ``raw``), on the region, indicator, year and target the row names."""
    before = con.execute("SELECT count(*) FROM validation_issue").fetchall()[0][0]
    con.execute("""
        INSERT INTO validation_issue BY NAME
        SELECT run_id, 'rejected_row' AS table_name, substr(stage, 10) AS check_name, 'error' AS severity,
               json_extract_string(raw, '$.region_code') AS region_code,
               json_extract_string(raw, '$.indicator_key') AS indicator_key,
               TRY_CAST(coalesce(json_extract_string(raw, '$.year'), json_extract_string(raw, '$.target_year'))
                        AS INTEGER) AS year,
               json_extract_string(raw, '$.target_id') AS target_id,
               concat_ws(', ', source_file, location) || ': ' || reason AS detail,
               $found_at AS found_at
        FROM rejected_row
        WHERE run_id = $run_id AND starts_with(stage, 'validate:') AND json_valid(raw)
    """, {"run_id": run_id, "found_at": found_at})
    return con.execute("SELECT count(*) FROM validation_issue").fetchall()[0][0] - before


def record_results(con: duckdb.DuckDBPyConnection, results: list[SuiteResult], *, found_at: datetime) -> int:
    """Every failing row as a validation_issue; the broken ones (severity error) also as rejected rows."""
    failures = pl.concat([r.failures for r in results], how="vertical_relaxed")
    issues = failures.select("run_id", "table_name", "check_name", "severity", *ISSUE_KEYS, "year", "detail",
                             pl.lit(found_at).alias("found_at"))
    # One rejected row per broken row, naming every check it failed (as the pandera layer does).
    rejected = (
        failures.filter(pl.col("severity") == "error")
        .group_by("table_name", "_row", maintain_order=True)
        .agg(pl.col("run_id", "source_file", "location", "raw").first(),
             pl.format("validate:{}", pl.col("check_name").first()).alias("stage"),
             pl.col("detail").str.join("; ").alias("details"))
        .select("run_id", "source_file", "location", "stage",
                pl.format("{}: {}", pl.col("table_name"), pl.col("details")).alias("reason"),
                "raw", pl.lit(found_at).alias("rejected_at"))
    )
    Warehouse.append_rows(con, "rejected_row", rejected)
    return Warehouse.append_rows(con, "validation_issue", issues)


def _pages(docs_dir: Path, tables: list[str]) -> dict[str, Path]:
    """This run's Data Docs page per table (``<table>``, the row-by-row validation) and per whole-table
    validation (``<table>.whole_table``; GX files it under validations/<table>/whole_table/)."""
    pages = {}
    for table in tables:
        for page in sorted((docs_dir / "validations" / table).rglob("*.html")):
            whole = WHOLE_TABLE in page.relative_to(docs_dir / "validations" / table).parts[:1]
            pages[f"{table}.{WHOLE_TABLE}" if whole else table] = page
    return pages


def validate_warehouse(con: duckdb.DuckDBPyConnection, *, run_id: str, docs_dir: Path | None,
                       found_at: datetime, memo_dir: Path | None = None) -> WarehouseValidation:
    """Turn this run's pandera quarantine into issues, run every suite, record what failed, build Data Docs."""
    quarantined = record_quarantine_issues(con, run_id=run_id, found_at=found_at)
    results, index = run_suites(con, run_id=run_id, docs_dir=docs_dir, memo_dir=memo_dir)
    issues = record_results(con, results, found_at=found_at)
    pages = {} if docs_dir is None else _pages(docs_dir, [r.table for r in results])
    return WarehouseValidation(results, index, pages, issues, quarantined)
