"""Turn extracted target figures into assessable targets (skeleton: issue 6 implements it)."""

from __future__ import annotations

import polars as pl

from pipelines.lib.stage import StageResult

TARGET_SCHEMA = {
    "target_id": pl.String,
    "region_code": pl.String,
    "indicator_key": pl.String,
    "doc_id": pl.String,
    "line": pl.Int32,
    "evidence": pl.String,
    "kind": pl.String,
    "baseline_year": pl.Int32,
    "baseline_value": pl.Float64,
    "baseline_source": pl.String,
    "target_year": pl.Int32,
    "target_value": pl.Float64,
    "stated_value": pl.Float64,
    "comparator": pl.String,
    "value_type": pl.String,
    "unit": pl.String,
    "binding": pl.Boolean,
    "attribute": pl.String,
}


def build_targets(facts: pl.DataFrame, documents: pl.DataFrame, catalog: pl.DataFrame) -> StageResult:
    return StageResult(pl.DataFrame(schema=TARGET_SCHEMA))
