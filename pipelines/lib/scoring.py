"""Score extracted figures against hand labels (gold CSVs with the same columns).

A predicted figure matches a gold row when doc, line and value agree (values compared
rounded to 6 decimals). Where several figures share doc, line and value (均达100% over
several indicators), pairs are made inside the group, same indicator_key first, so
each gold row is matched at most once. Over matched pairs, the share of agreeing
indicator_key, kind, year, comparator, unit and value_type is reported.
"""

from __future__ import annotations

import polars as pl

FIELDS = ("indicator_key", "kind", "year", "comparator", "unit", "value_type")
KEY = ["doc", "line", "value"]


def _prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("doc").cast(pl.String),
        pl.col("line").cast(pl.Int64),
        pl.col("value").cast(pl.Float64).round(6),
        *[pl.col(f).cast(pl.String).fill_null("") for f in FIELDS],
    )


def match_figures(predicted: pl.DataFrame, gold: pl.DataFrame) -> pl.DataFrame:
    """One row per matched pair (suffix _pred / _gold for the compared fields)."""
    pred = _prepare(predicted).with_columns(pl.int_range(pl.len()).over(KEY).alias("_i"))
    gld = _prepare(gold)
    # Rank each side inside its (doc, line, value) group, same-key rows first, then pair by rank.
    pred = pred.join(gld.select(*KEY, "indicator_key").unique().with_columns(pl.lit(True).alias("_in_gold")),
                     on=[*KEY, "indicator_key"], how="left")
    gld = gld.join(_prepare(predicted).select(*KEY, "indicator_key").unique().with_columns(
        pl.lit(True).alias("_in_pred")), on=[*KEY, "indicator_key"], how="left")
    pred = pred.sort([*KEY, pl.col("_in_gold").is_null(), "indicator_key"]).with_columns(
        pl.int_range(pl.len()).over(KEY).alias("_rank"))
    gld = gld.sort([*KEY, pl.col("_in_pred").is_null(), "indicator_key"]).with_columns(
        pl.int_range(pl.len()).over(KEY).alias("_rank"))
    return pred.drop("_i", "_in_gold").join(gld.drop("_in_pred"), on=[*KEY, "_rank"], how="inner",
                                            suffix="_gold").drop("_rank")


def score(predicted: pl.DataFrame, gold: pl.DataFrame) -> pl.DataFrame:
    """Per document and overall: counts, recall, precision and field agreement on matched figures."""
    pairs = match_figures(predicted, gold)
    agree = [(pl.col(f) == pl.col(f"{f}_gold")).mean().alias(f) for f in FIELDS]

    def summarize(group: list[str]) -> pl.DataFrame:
        n_pred = _prepare(predicted).group_by(group or pl.lit("all")).len("predicted") if group else \
            pl.DataFrame({"predicted": [predicted.height]})
        n_gold = _prepare(gold).group_by(group).len("gold") if group else pl.DataFrame({"gold": [gold.height]})
        matched = (pairs.group_by(group).agg(pl.len().alias("matched"), *agree) if group
                   else pairs.select(pl.len().alias("matched"), *agree))
        if group:
            out = n_gold.join(n_pred, on=group, how="full", coalesce=True).join(matched, on=group, how="left")
        else:
            out = pl.concat([n_gold, n_pred, matched], how="horizontal").with_columns(pl.lit("ALL").alias("doc"))
        return out.with_columns(
            pl.col("predicted", "gold", "matched").fill_null(0),
        ).with_columns(
            (pl.col("matched") / pl.col("gold")).alias("recall"),
            (pl.col("matched") / pl.col("predicted")).alias("precision"),
        ).select("doc", "gold", "predicted", "matched", "recall", "precision", *FIELDS)

    return pl.concat([summarize(["doc"]).sort("doc"), summarize([])], how="vertical_relaxed")
