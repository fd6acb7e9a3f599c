"""The warehouse tables (built in staging) and their publication."""


from datetime import datetime

import dagster as dg
import polars as pl

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.fanout import fan_out
from pipelines.lib.gx_validation import preload_great_expectations
from pipelines.lib.loading import load_run
from pipelines.lib.reference import read_catalog, read_regions
from pipelines.lib.stage import StageResult


@dg.asset(group_name="warehouse", kinds={"duckdb"}, pool="duckdb")
def warehouse_tables(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    plan_documents: StageResult,
    extracted_facts: StageResult,
    statistics_files: StageResult,
    observations: StageResult,
    targets: StageResult,
    assessments: StageResult,
) -> dg.MaterializeResult:
    """All warehouse tables and analyst views, written into this run's staging copy."""
    if fan_out().executor == "in_process":
        # The next step, warehouse_validation, needs GX (about 2.5 s to import): it loads in the background
        # while this step's time goes to DuckDB, outside the GIL. (Started earlier, it competed with the
        # Python work of the first steps; under the multiprocess executor validation has its own process.)
        preload_great_expectations()
    paths = planwatch.paths
    wh = planwatch.warehouse
    wh.begin(context.run.run_id)
    # The reference tables are loaded here, so their refused rows are reported here (once per run).
    regions, catalog = read_regions(paths.regions), read_catalog(paths.indicator_catalog)
    rejected = pl.concat([s.rejected for s in (regions, catalog, plan_documents, extracted_facts, statistics_files,
                                               observations, targets, assessments)])
    with wh.connect() as con:
        counts = load_run(
            wh, con, run_id=context.run.run_id, loaded_at=datetime.now(),
            regions=regions.rows, catalog=catalog.rows,
            documents=plan_documents.rows, facts=extracted_facts.rows, targets=targets.rows,
            observations=observations.rows, assessments=assessments.rows, rejected=rejected,
        )
        views = wh.create_views(con)
    return dg.MaterializeResult(metadata={**{f"rows:{t}": n for t, n in counts.items()}, "views": ", ".join(views)})


@dg.asset(group_name="warehouse", kinds={"duckdb"}, pool="duckdb", deps=["alerts", "report"])
def published_warehouse(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> dg.MaterializeResult:
    """Swap the complete staging warehouse in for planwatch.duckdb, atomically."""
    path = planwatch.warehouse.publish()
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})
