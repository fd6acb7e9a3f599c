"""Data-quality checks, each shown in the Dagster UI with its result and the rows that failed.

- ``valid_<asset>`` on every asset that hands a frame on: fails when the asset refused rows this run.
  Severity ERROR when the pandera boundary (lib/schemas.py) quarantined rows (their alerts are held),
  when a handed-on row still fails the model or a refused row lacks a stage or reason; WARN when the
  reader or normalizer only left rows out (nothing is held).
- ``warehouse_validation`` runs the Great Expectations suites (expectations/<table>.json) on the
  staging warehouse after the load, one check per table, on the rows this run wrote or stands on
  (not the whole history again: lib/gx_validation.py); it writes validation_issue and rejected_row
  rows and the Data Docs. It is an asset, not a set of checks on warehouse_tables, so that report
  and alerts can depend on it: alerts are held for the rows a broken-data check names before any
  email goes out. Severity ERROR: the data is broken; WARN: implausible, blocks nothing.
"""


from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib import schemas
from pipelines.lib.gx_validation import SuiteResult, load_suite, suite_names, validate_warehouse
from pipelines.lib.parquet_cache import cache_dir
from pipelines.lib.reference import load_catalog
from pipelines.lib.stage import StageResult

SHOWN_ROWS = 20


def markdown(frame: pl.DataFrame) -> dg.MetadataValue:
    """The first SHOWN_ROWS rows as a markdown table (the UI renders it)."""
    if frame.is_empty():
        return dg.MetadataValue.md("(none)")
    return dg.MetadataValue.md(frame.head(SHOWN_ROWS).to_pandas().to_markdown(index=False))


def boundary_check(boundary: schemas.Boundary) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=boundary.name, name=f"valid_{boundary.name}",
        description=f"Rows this asset refused (pandera {boundary.model.__name__} quarantine, reader, normalizer), "
                    "and the handed-on rows re-checked against the model.",
    )
    def check(planwatch: PlanwatchResource, stage_output) -> dg.AssetCheckResult:
        result = stage_output if isinstance(stage_output, StageResult) else StageResult(stage_output)
        quarantined = schemas.quarantined(result)
        refused_earlier = result.rejected.filter(~pl.col("stage").str.starts_with("validate:"))
        still_failing = schemas.row_failures(result.rows, boundary, load_catalog(planwatch.paths.indicator_catalog))
        unexplained = schemas.model_failures(schemas.RejectedModel, result.rejected)
        broken = quarantined.height + still_failing.height + unexplained.height
        by_stage = result.rejected.group_by("stage").len().sort("stage")
        return dg.AssetCheckResult(
            passed=result.rejected.is_empty() and not broken,
            # ERROR: broken rows whose alerts are held (validation_issue); WARN: rows left out, nothing held.
            severity=dg.AssetCheckSeverity.ERROR if broken else dg.AssetCheckSeverity.WARN,
            metadata={
                "rows handed on": result.rows.height,
                "rows quarantined by pandera": quarantined.height,
                "rows refused before (read, normalize)": refused_earlier.height,
                "refused by stage": dg.MetadataValue.json(dict(by_stage.iter_rows())),
                "quarantined rows": markdown(quarantined.select("source_file", "location", "stage", "reason")),
                "refused rows": markdown(refused_earlier.select("source_file", "location", "stage", "reason")),
                "handed-on rows failing the model": still_failing.height,
                "handed-on failures": markdown(still_failing),
                "refused rows without stage or reason": unexplained.height,
            },
        )

    return check


def suite_check(suite: SuiteResult, pages: dict[str, Path]) -> dg.AssetCheckResult:
    failed = suite.expectations.filter(~pl.col("success"))
    rows = suite.failures.select("check_name", "severity", "source_file", "location", "region_code", "indicator_key", "year",
                                 "target_id", "detail")
    return dg.AssetCheckResult(
        check_name=f"gx_{suite.table}",
        asset_key="warehouse_validation",
        passed=suite.passed,
        severity=dg.AssetCheckSeverity.WARN if suite.severity == "warning" else dg.AssetCheckSeverity.ERROR,
        metadata={
            "expectations": suite.expectations.height,
            "failed expectations": failed.height,
            "failing rows": rows.height,
            "results": markdown(suite.expectations.select("check", "severity", "success", "unexpected", "examples")
                                .sort("success")),
            "failing rows (first 20)": markdown(rows),
            # The Data Docs' counts are of the rows judged: the others passed before, unchanged.
            "rows judged (new, changed, or failing before)": suite.rows_judged,
            "rows not judged again (passed before, unchanged)": suite.rows_passed_before,
            **{f"data docs page{label}": dg.MetadataValue.path(str(pages[key]))
               for key, label in ((suite.table, ""), (f"{suite.table}.whole_table", " (whole table: uniqueness)"))
               if key in pages},
        },
    )


@dg.asset(
    group_name="warehouse", kinds={"duckdb"}, deps=["warehouse_tables"], pool="duckdb",
    check_specs=[dg.AssetCheckSpec(name=f"gx_{name}", asset="warehouse_validation",
                                   description=f"Great Expectations suite expectations/{name}.json: "
                                               + load_suite(name).get("meta", {}).get("description", ""))
                 for name in suite_names()],
)
def warehouse_validation(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> dg.MaterializeResult:
    """Great Expectations suites on the staging warehouse: issues recorded, broken rows quarantined,
    alerts on them held; Data Docs rebuilt in <warehouse>/data_docs/."""
    docs_dir = planwatch.paths.data_docs_dir
    memo_dir = cache_dir(planwatch.paths.warehouse_dir, "validation")  # rows that passed before (gx_validation.PassedRows)
    with planwatch.warehouse.connect() as con:
        outcome = validate_warehouse(con, run_id=context.run.run_id, docs_dir=docs_dir, found_at=datetime.now(),
                                     memo_dir=memo_dir)
    errors = sum(s.failures.filter(pl.col("severity") == "error").height for s in outcome.suites)
    if errors or outcome.quarantined_issues:
        context.log.warning(f"{errors + outcome.quarantined_issues} broken row(s): alerts on them are held")
    return dg.MaterializeResult(
        metadata={
            "suites": len(outcome.suites),
            "suites failed": sum(not s.passed for s in outcome.suites),
            "issues (error)": errors + outcome.quarantined_issues,
            "issues (warning)": sum(s.failures.filter(pl.col("severity") == "warning").height for s in outcome.suites),
            "data docs": dg.MetadataValue.path(str(outcome.docs_index)),
        },
        check_results=[suite_check(s, outcome.pages) for s in outcome.suites],
    )


@dg.definitions
def validation() -> dg.Definitions:
    # With a @dg.definitions function in a module, the defs loader takes only what it returns.
    return dg.Definitions(assets=[warehouse_validation],
                          asset_checks=[boundary_check(b) for b in schemas.BOUNDARIES.values()])
