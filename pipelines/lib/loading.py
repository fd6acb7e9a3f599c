"""Load one run's stage outputs into the staging warehouse (see warehouse.py)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from pipelines.lib.reference import resolve_region
from pipelines.lib.warehouse import Warehouse


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


# What makes an observation the same value again: a revision is a new row, never an overwrite.
OBSERVATION_IDENTITY = ("region_code", "indicator_key", "year", "source", "value_type", "value")
_SAME_VALUE = " AND ".join(f"h.{c} IS NOT DISTINCT FROM o.{c}" if c in ("source", "value_type") else f"h.{c} = o.{c}"
                           for c in OBSERVATION_IDENTITY)


def load_observations(wh: Warehouse, con: duckdb.DuckDBPyConnection, observations: pl.DataFrame,
                      *, run_id: str, loaded_at: datetime) -> int:
    """Keep every value ever seen (revisions are new rows, never overwrites); mark this run's choice.

    A row is new when no earlier row has the same region, indicator, year, source, value type and value.
    DuckDB compares only those columns (and the chosen flag): the million rows of a national run are
    handed over narrow, and only the few new rows whole.
    """
    keys = observations.select(*OBSERVATION_IDENTITY, "is_chosen").with_row_index("_row")
    con.register("_obs", keys.to_arrow())
    try:
        new = con.sql(f"""
            SELECT _row FROM _obs o WHERE NOT EXISTS (SELECT 1 FROM observation h WHERE {_SAME_VALUE})
        """).pl()["_row"]
        added = wh.append_rows(con, "observation", observations.filter(keys["_row"].is_in(new.implode())).with_columns(
            pl.lit(run_id).alias("run_id"), pl.lit(loaded_at).alias("loaded_at")))
        # The chosen flag always reflects the latest run's precedence decision. Only the rows whose flag
        # changes are updated (a few a night), not the whole history.
        con.execute(f"""
            UPDATE observation SET is_chosen = flips.chosen FROM (
                SELECT h.rowid AS row_id, coalesce(o.chosen, false) AS chosen
                FROM observation h LEFT JOIN (
                    SELECT {", ".join(OBSERVATION_IDENTITY)}, bool_or(is_chosen) AS chosen FROM _obs GROUP BY ALL) o
                  ON {_SAME_VALUE}
                WHERE h.is_chosen IS DISTINCT FROM coalesce(o.chosen, false)) flips
            WHERE observation.rowid = flips.row_id
        """)
    finally:
        con.unregister("_obs")
    return added
