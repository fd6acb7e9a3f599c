"""Targets and their assessment."""


from datetime import datetime

import dagster as dg
import polars as pl

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.assessment import assess_targets
from pipelines.lib.parquet_cache import cache_dir
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.schemas import ASSESSMENTS, TARGETS, quarantine_invalid
from pipelines.lib.stage import StageResult
from pipelines.lib.targets import build_targets


@dg.asset(group_name="assessment", kinds={"polars"})
def targets(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    extracted_facts: StageResult,
    plan_documents: StageResult,
    observations: StageResult,
) -> StageResult:
    """Plan targets, with baselines (the plan's own, else the base year's observation), as levels in canonical units."""
    paths = planwatch.paths
    result = build_targets(
        extracted_facts.rows, plan_documents.rows, load_catalog(paths.indicator_catalog),
        regions=load_regions(paths.regions), observations=observations.rows,
    )
    result = quarantine_invalid(result, TARGETS, catalog=load_catalog(paths.indicator_catalog))
    unresolved = result.rows.filter(pl.col("unresolved").is_not_null()).height
    context.add_output_metadata({"targets": result.rows.height, "unresolved": unresolved,
                                 "rejected": result.rejected.height})
    return result


@dg.asset(group_name="assessment", kinds={"polars"})
def assessments(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    targets: StageResult,
    observations: StageResult,
) -> StageResult:
    """One status per target for this run, with the numbers behind it. An assessment that breaks the
    model (pandera, lib/schemas.py) is quarantined: it is not loaded, so it cannot alert, and its
    target's open alerts are held (validation_issue)."""
    frame = assess_targets(
        targets.rows, observations.rows, load_catalog(planwatch.paths.indicator_catalog),
        run_id=context.run.run_id, assessed_at=datetime.now(),
        memo_dir=cache_dir(planwatch.paths.warehouse_dir, "assessments"),
    )
    result = quarantine_invalid(StageResult(frame), ASSESSMENTS)
    counts = result.rows.group_by("status").len().sort("status")
    context.add_output_metadata({"assessments": result.rows.height, "rejected": result.rejected.height,
                                 **{f"status:{s}": n for s, n in counts.iter_rows()}})
    return result
