"""Targets and their assessment."""


from datetime import datetime

import dagster as dg
import polars as pl

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.assessment import assess_targets
from pipelines.lib.reference import load_catalog
from pipelines.lib.stage import StageResult
from pipelines.lib.targets import build_targets


@dg.asset(group_name="assessment", kinds={"polars"})
def targets(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    extracted_facts: StageResult,
    plan_documents: StageResult,
) -> StageResult:
    """Plan targets, with baselines, as levels in canonical units."""
    result = build_targets(extracted_facts.rows, plan_documents.rows, load_catalog(planwatch.paths.indicator_catalog))
    context.add_output_metadata({"targets": result.rows.height, "rejected": result.rejected.height})
    return result


@dg.asset(group_name="assessment", kinds={"polars"})
def assessments(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    targets: StageResult,
    observations: StageResult,
) -> pl.DataFrame:
    """One status per target for this run, with the numbers behind it."""
    frame = assess_targets(
        targets.rows, observations.rows, load_catalog(planwatch.paths.indicator_catalog),
        run_id=context.run_id, assessed_at=datetime.now(),
    )
    counts = frame.group_by("status").len().sort("status")
    context.add_output_metadata({"assessments": frame.height,
                                 **{f"status:{s}": n for s, n in counts.iter_rows()}})
    return frame
