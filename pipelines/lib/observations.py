"""Normalize raw statistics and the actuals found in texts into observations:
catalog keys, canonical units, GB/T 2260 region codes, and one chosen value per
region x indicator x year by source precedence. (Skeleton: issue 4 implements it.)
"""

from __future__ import annotations

import polars as pl

from pipelines.lib.stage import StageResult

OBSERVATION_SCHEMA = {
    "region_code": pl.String,
    "indicator_key": pl.String,
    "year": pl.Int32,
    "value": pl.Float64,
    "unit": pl.String,
    "value_type": pl.String,
    "source": pl.String,
    "source_kind": pl.String,  # statistics_file / bulletin / plan_retrospective / work_report_estimate
    "source_rank": pl.Int32,
    "source_file": pl.String,
    "location": pl.String,
    "is_chosen": pl.Boolean,
}


def build_observations(
    raw_statistics: pl.DataFrame,
    facts: pl.DataFrame,
    documents: pl.DataFrame,
    catalog: pl.DataFrame,
    regions: pl.DataFrame,
) -> StageResult:
    return StageResult(pl.DataFrame(schema=OBSERVATION_SCHEMA))
