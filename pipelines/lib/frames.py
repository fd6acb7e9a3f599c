"""Frame helpers the stages share."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl


def per_distinct(frame: pl.DataFrame, on: list[str],
                 derive: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``frame`` with the columns ``derive`` adds to the distinct combinations of its ``on`` columns (one row
    each), joined back in the frame's order.

    For costly work (normalizing, regexes, lookups, when/then chains) on columns that repeat a few hundred
    values over a million rows: the work is done once per value, and the join is cheap.
    """
    return frame.join(derive(frame.select(on).unique()), on=on, how="left", maintain_order="left",
                      nulls_equal=True)
