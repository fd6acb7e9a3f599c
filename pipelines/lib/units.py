"""Unit conversion to each indicator's canonical unit (catalog ``unit``).

A unit as written is first given its catalog spelling (NFKC, no spaces: μg/m³, ug/m3 and
微克每立方米 are all 微克/立方米; 10,000 yuan is 万元; ％ is %). It is then split into a
*base* and a *magnitude*: 亿元 = (元, 1e8), 万千瓦 = (瓦, 1e7), 万人 = (人, 1e4), and a few
irregular units are listed whole (平方公里 = (平方米, 1e6), 公顷 = (亩, 15), ‰ = (%, 0.1)).
Two units convert when their bases are equal; the factor is the ratio of their magnitudes.
Anything else is an impossible unit (factor null) and the caller rejects the figure.

A percent stays a percent; 个百分点 is a change, never a level, so it converts to nothing but
itself (the caller keeps it as value_type change_pp).
"""

from __future__ import annotations

import polars as pl

# Written form (NFKC, no whitespace, lower case) -> catalog spelling.
SPELLINGS: dict[str, str] = {
    "μg/m3": "微克/立方米", "ug/m3": "微克/立方米", "微克每立方米": "微克/立方米", "mg/m3": "毫克/立方米",
    "percent": "%", "pct": "%", "百分比": "%", "百分之": "%",
    "‰": "‰", "permille": "‰", "千分之": "‰",
    "百分点": "个百分点", "percentagepoint": "个百分点", "percentagepoints": "个百分点", "pp": "个百分点",
    "yuan": "元", "rmb": "元", "10,000yuan": "万元", "10kyuan": "万元", "100millionyuan": "亿元",
    "100myuan": "亿元", "billionyuan": "十亿元", "usd": "美元", "10,000usd": "万美元", "100millionusd": "亿美元",
    "person": "人", "persons": "人", "people": "人", "名": "人", "10,000persons": "万人", "10,000people": "万人",
    "m2": "平方米", "squaremeters": "平方米", "km2": "平方公里", "km": "公里", "m": "米", "t": "吨", "kg": "千克",
    "mu": "亩", "ha": "公顷", "years": "年", "year": "年", "days": "天", "day": "天",
}
# Units that a magnitude prefix cannot describe: unit -> (base, magnitude).
IRREGULAR: dict[str, tuple[str, float]] = {
    "平方公里": ("平方米", 1e6),
    "公里": ("米", 1e3),
    "公顷": ("亩", 15.0),
    "‰": ("%", 0.1),
    "毫克/立方米": ("微克/立方米", 1e3),
    "十亿元": ("元", 1e9),
}
# Magnitude prefixes, longest first so that 万千瓦 reads as 万千 + 瓦.
MAGNITUDES: dict[str, float] = {
    "万亿": 1e12, "百万": 1e6, "十万": 1e5, "万千": 1e7, "亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2,
}
_PREFIX = "^(" + "|".join(MAGNITUDES) + ")?(.+)$"


def spelled(expr: pl.Expr) -> pl.Expr:
    """The catalog spelling of a unit as written (null stays null, blank becomes null)."""
    key = expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_lowercase()
    key = pl.when(key == "").then(None).otherwise(key)
    return key.replace(SPELLINGS)


def _base(unit: pl.Expr) -> pl.Expr:
    return unit.replace_strict({u: b for u, (b, _) in IRREGULAR.items()}, default=unit.str.extract(_PREFIX, 2))


def _magnitude(unit: pl.Expr) -> pl.Expr:
    prefix = unit.str.extract(_PREFIX, 1).fill_null("")
    by_prefix = prefix.replace_strict(MAGNITUDES, default=1.0, return_dtype=pl.Float64)
    return unit.replace_strict({u: m for u, (_, m) in IRREGULAR.items()}, default=by_prefix,
                               return_dtype=pl.Float64)


def _convertible(written: pl.Expr, target: pl.Expr) -> pl.Expr:
    return written.is_null() | target.is_null() | (written == target) | (_base(written) == _base(target))


def _scaled(value: pl.Expr, written: pl.Expr, target: pl.Expr) -> pl.Expr:
    # Multiply before dividing: 30302100 万元 -> 3030.21 亿元 exactly, where * 1e-4 would not be.
    same = written.is_null() | target.is_null() | (written == target)
    scaled = value * _magnitude(written) / _magnitude(target)
    return pl.when(same).then(value).when(_convertible(written, target)).then(scaled)


def factor_expr(unit: pl.Expr, canonical: pl.Expr) -> pl.Expr:
    """Factor that turns a value in ``unit`` into ``canonical``; null when they do not convert.
    A missing unit (or canonical unit) is taken as already canonical."""
    return _scaled(pl.lit(1.0), spelled(unit), spelled(canonical))


def convert_expr(value: pl.Expr, unit: pl.Expr, canonical: pl.Expr) -> pl.Expr:
    """``value`` in ``canonical`` units; null when the units do not convert."""
    return _scaled(value, spelled(unit), spelled(canonical))


def base_unit(unit: pl.Expr) -> pl.Expr:
    """The base of a unit (亿元 -> 元): two units convert exactly when their bases are equal."""
    return _base(spelled(unit))


def known_bases(units: pl.Series) -> pl.Series:
    """Bases of ``units`` and of every spelling this module knows: what a written unit may be."""
    every = pl.concat([units.cast(pl.String), pl.Series(list(SPELLINGS.values()) + list(IRREGULAR))])
    return every.to_frame("unit").select(base_unit(pl.col("unit"))).to_series().drop_nulls().unique()


def conversion_factor(unit: str | None, canonical: str | None) -> float | None:
    """Factor from ``unit`` to ``canonical``; None when no conversion is known (impossible unit)."""
    frame = pl.DataFrame({"unit": [unit], "canonical": [canonical]}, schema={"unit": pl.String, "canonical": pl.String})
    return frame.select(factor_expr(pl.col("unit"), pl.col("canonical"))).item()


def to_canonical(frame: pl.DataFrame, *, value: str = "value", unit: str = "unit",
                 canonical: str = "canonical_unit") -> pl.DataFrame:
    """Convert ``value`` from ``unit`` to ``canonical`` in place; adds ``unit_factor`` (null = impossible unit)."""
    return frame.with_columns(
        factor_expr(pl.col(unit), pl.col(canonical)).alias("unit_factor"),
        convert_expr(pl.col(value), pl.col(unit), pl.col(canonical)).alias(value),
    )
