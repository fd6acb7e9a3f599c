"""Load one run's stage outputs into the staging warehouse (see warehouse.py)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from pipelines.lib.reference import resolve_region
from pipelines.lib.warehouse import Warehouse, scalar


def load_run(
    wh: Warehouse,
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    loaded_at: datetime,
    regions: pl.DataFrame,
    catalog: pl.DataFrame,
    documents: pl.DataFrame,
    facts: pl.DataFrame,
    targets: pl.DataFrame,
    observations: pl.DataFrame,
    assessments: pl.DataFrame,
    rejected: pl.DataFrame,
) -> dict[str, int]:
    """Replace the current-state tables, append this run's rows to the history tables."""
    # A figure's region: the one it names, else its document's (as observations and targets decide it).
    facts = (
        facts.join(documents.select("doc_id", pl.col("region_code").alias("doc_region_code")), on="doc_id", how="left")
        .pipe(resolve_region, "region", regions, otherwise=pl.col("doc_region_code"))
        .drop("doc_region_code", "region_ambiguity")
    )
    counts = {
        "region": wh.replace_rows(con, "region", regions),
        "indicator": wh.replace_rows(con, "indicator", catalog),
        "document": wh.replace_rows(con, "document",
                                    documents.drop("text").with_columns(pl.lit(loaded_at).alias("loaded_at"))),
        "extracted_fact": wh.replace_rows(con, "extracted_fact", facts),
        "target": wh.replace_rows(con, "target", targets),
        "assessment": wh.append_rows(con, "assessment", assessments),
        "rejected_row": wh.append_rows(
            con, "rejected_row",
            rejected.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(loaded_at).alias("rejected_at")),
        ),
    }
    counts["observation"] = load_observations(wh, con, observations, run_id=run_id, loaded_at=loaded_at)
    return counts


def load_observations(wh: Warehouse, con: duckdb.DuckDBPyConnection, observations: pl.DataFrame,
                      *, run_id: str, loaded_at: datetime) -> int:
    """Keep every value ever seen (revisions are new rows, never overwrites); mark this run's choice.

    A row is new when no earlier row has the same region, indicator, year, source, value type and value.
    """
    incoming = observations.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(loaded_at).alias("loaded_at"))
    con.register("_obs", incoming.to_arrow())
    try:
        before = scalar(con, "SELECT count(*) FROM observation")
        con.execute("""
            INSERT INTO observation BY NAME
            SELECT * FROM _obs o WHERE NOT EXISTS (
                SELECT 1 FROM observation h
                WHERE h.region_code = o.region_code AND h.indicator_key = o.indicator_key AND h.year = o.year
                  AND h.source IS NOT DISTINCT FROM o.source AND h.value_type IS NOT DISTINCT FROM o.value_type
                  AND h.value = o.value)
        """)
        # The chosen flag always reflects the latest run's precedence decision. Only the rows whose flag
        # changes are updated (a few a night), not the whole history.
        con.execute("""
            UPDATE observation SET is_chosen = flips.chosen FROM (
                SELECT h.rowid AS row_id, coalesce(o.chosen, false) AS chosen
                FROM observation h LEFT JOIN (
                    SELECT region_code, indicator_key, year, source, value_type, value, bool_or(is_chosen) AS chosen
                    FROM _obs GROUP BY ALL) o
                  ON h.region_code = o.region_code AND h.indicator_key = o.indicator_key AND h.year = o.year
                 AND h.source IS NOT DISTINCT FROM o.source AND h.value_type IS NOT DISTINCT FROM o.value_type
                 AND h.value = o.value
                WHERE h.is_chosen IS DISTINCT FROM coalesce(o.chosen, false)) flips
            WHERE observation.rowid = flips.row_id
        """)
        after = scalar(con, "SELECT count(*) FROM observation")
    finally:
        con.unregister("_obs")
    return after - before
