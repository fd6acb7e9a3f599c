"""Find every quantitative figure in a plan text: targets, actuals, estimates, baselines.

The output columns are the gold labels' columns (tests/fixtures/gold/LABELLING.md) plus the
character span of the figure in its line. Flattened tables are read by pipelines.lib.tables;
every other line by pipelines.lib.prose.
"""

from __future__ import annotations

import polars as pl

from pipelines.lib.extract_context import ExtractionContext

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
    regions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every figure in ``text`` as one row of FACT_SCHEMA (line numbers as in the original file).
    ``regions`` (the region reference) lets tables repair damaged area names (海市 -> 临海市)."""
    from pipelines.lib.prose import ProseExtractor, figure_rows
    from pipelines.lib.tables import table_fact_rows  # tables imports FACT_SCHEMA from here

    ctx = ExtractionContext(doc=doc, region=region, doc_type=doc_type, period_start=period_start,
                            period_end=period_end, year=year, catalog=catalog, regions=regions)
    lines = text.split("\n")
    table_rows, table_lines = table_fact_rows(lines, ctx)
    rows = table_rows + figure_rows(ProseExtractor(ctx).extract(lines, table_lines), ctx)
    # In line order, table figures before prose ones on a line (a stable sort); one frame per document,
    # built once: a document holds a few dozen figures, where frame operations cost more than the rows.
    rows.sort(key=lambda row: (row["line"], row["char_start"]))
    return pl.from_dicts(rows, schema=FACT_SCHEMA)
