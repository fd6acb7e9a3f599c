"""Unit conversion to each indicator's canonical unit (catalog ``unit``).

(Skeleton: issue 4 completes the table of units.) Magnitudes convert (万元 -> 亿元,
人 -> 万人); spellings are unified (μg/m³ = 微克/立方米); a percent stays a percent;
个百分点 is a change, never a level.
"""

from __future__ import annotations

import polars as pl

# (unit as written, canonical unit) -> factor; identical units need no entry.
FACTORS: dict[tuple[str, str], float] = {
    ("万元", "亿元"): 1e-4,
    ("亿元", "万元"): 1e4,
    ("元", "万元"): 1e-4,
    ("万元", "元"): 1e4,
    ("人", "万人"): 1e-4,
    ("万人", "人"): 1e4,
}


def conversion_factor(unit: str | None, canonical: str | None) -> float | None:
    """Factor from ``unit`` to ``canonical``; None when no conversion is known (impossible unit)."""
    if unit is None or canonical is None or unit == canonical or unit == "" or canonical == "":
        return 1.0
    return FACTORS.get((unit, canonical))


def to_canonical(frame: pl.DataFrame, *, value: str = "value", unit: str = "unit",
                 canonical: str = "canonical_unit") -> pl.DataFrame:
    """Convert ``value`` from ``unit`` to ``canonical`` in place; adds ``unit_factor`` (null = impossible unit)."""
    pairs = frame.select(unit, canonical).unique()
    factors = pairs.with_columns(
        pl.struct(unit, canonical).map_elements(
            lambda s: conversion_factor(s[unit], s[canonical]), return_dtype=pl.Float64
        ).alias("unit_factor")
    )
    return (
        frame.join(factors, on=[unit, canonical], how="left", nulls_equal=True)
        .with_columns((pl.col(value) * pl.col("unit_factor")).alias(value))
    )
