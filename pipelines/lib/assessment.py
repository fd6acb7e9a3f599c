"""Judge every target (METHODOLOGY.md). Skeleton: issue 6 implements it."""

from __future__ import annotations

from datetime import datetime

import polars as pl

ASSESSMENT_SCHEMA = {
    "run_id": pl.String,
    "assessed_at": pl.Datetime("us"),
    "target_id": pl.String,
    "region_code": pl.String,
    "indicator_key": pl.String,
    "latest_year": pl.Int32,
    "latest_value": pl.Float64,
    "time_progress": pl.Float64,
    "done_progress": pl.Float64,
    "expected_value": pl.Float64,
    "gap": pl.Float64,
    "path_ratio": pl.Float64,
    "required_growth": pl.Float64,
    "actual_growth": pl.Float64,
    "growth_ratio": pl.Float64,
    "growth_category": pl.String,
    "projected_value": pl.Float64,
    "projection_points": pl.Int32,
    "will_meet": pl.Boolean,
    "status": pl.String,
    "severity": pl.String,
    "rule": pl.String,
    "reason": pl.String,
}


def assess_targets(
    targets: pl.DataFrame,
    observations: pl.DataFrame,
    catalog: pl.DataFrame,
    *,
    run_id: str,
    assessed_at: datetime,
) -> pl.DataFrame:
    return pl.DataFrame(schema=ASSESSMENT_SCHEMA)
