"""Find every quantitative figure in a plan text: targets, actuals, estimates, baselines.

(Skeleton: issue 3 implements the extractor. The output columns are the gold labels'
columns, see tests/fixtures/gold/LABELLING.md, plus the character span of the figure.)
"""

from __future__ import annotations

import polars as pl

FACT_SCHEMA = {
    "doc": pl.String,
    "line": pl.Int32,
    "region": pl.String,
    "kind": pl.String,
    "indicator_text": pl.String,
    "indicator_key": pl.String,
    "value": pl.Float64,
    "value_type": pl.String,
    "unit": pl.String,
    "comparator": pl.String,
    "year": pl.Int32,
    "attribute": pl.String,
    "evidence": pl.String,
    "char_start": pl.Int32,
    "char_end": pl.Int32,
}
GOLD_COLUMNS = [c for c in FACT_SCHEMA if c not in ("char_start", "char_end")]


def extract_facts(
    text: str,
    *,
    doc: str,
    region: str | None,
    doc_type: str | None,
    period_start: int | None,
    period_end: int | None,
    year: int | None,
    catalog: pl.DataFrame,
) -> pl.DataFrame:
    """Every figure in ``text`` as one row of FACT_SCHEMA (line numbers as in the original file)."""
    return pl.DataFrame(schema=FACT_SCHEMA)
