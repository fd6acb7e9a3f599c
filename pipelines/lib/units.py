"""Units: their catalog spelling, base and magnitude, conversion, and which units can measure one thing.

A unit as written is first given its catalog spelling (NFKC, no spaces: μg/m³, ug/m3 and
微克每立方米 are all 微克/立方米; 10,000 yuan is 万元; ％ is %). A magnitude prefix is kept and each
part of a compound unit is spelled on its own: 万m2 is 万平方米, 元/㎡ is 元/平方米.
It is then split into a *base* and a *magnitude*: 亿元 = (元, 1e8), 万千瓦 = (瓦, 1e7), 万人 = (人, 1e4),
and a few irregular units are listed whole (平方公里 = (平方米, 1e6), 公顷 = (亩, 15), ‰ = (%, 0.1)),
also under a magnitude (万平方公里 = (平方米, 1e10)).
Two units convert when their bases are equal; the factor is the ratio of their magnitudes.
Anything else is an impossible unit (factor null) and the caller rejects the figure.

A percent stays a percent; 个百分点 is a change, never a level, so it converts to nothing but
itself (the caller keeps it as value_type change_pp).

Extraction asks a looser question than conversion: whether a figure written in one unit may be a
value of an indicator measured in another (units_compatible: 5家 of an indicator counted in 个, 美元
of one in 元), and how the catalog words such a unit (catalog_wording: 户 -> 家, 万张 -> 万个).
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from pipelines.lib.frames import per_distinct

# Written form (NFKC, no whitespace, lower case) -> catalog spelling.
SPELLINGS: dict[str, str] = {
    "μg/m3": "微克/立方米", "ug/m3": "微克/立方米", "微克每立方米": "微克/立方米", "mg/m3": "毫克/立方米",
    "percent": "%", "pct": "%", "百分比": "%", "百分之": "%",
    "‰": "‰", "permille": "‰", "千分之": "‰",
    "百分点": "个百分点", "个百分比": "个百分点", "percentagepoint": "个百分点", "percentagepoints": "个百分点",
    "pp": "个百分点",
    "yuan": "元", "rmb": "元", "10,000yuan": "万元", "10kyuan": "万元", "100millionyuan": "亿元",
    "100myuan": "亿元", "billionyuan": "十亿元", "usd": "美元", "10,000usd": "万美元", "100millionusd": "亿美元",
    "person": "人", "persons": "人", "people": "人", "名": "人", "10,000persons": "万人", "10,000people": "万人",
    "m2": "平方米", "squaremeters": "平方米", "km2": "平方公里", "km": "公里", "千米": "公里", "m": "米", "t": "吨",
    "kg": "千克", "mu": "亩", "ha": "公顷", "years": "年", "year": "年", "days": "天", "day": "天",
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
# Magnitude prefixes, longest first so that 万千瓦 reads as 万千 + 瓦. They stack: 亿千瓦 = 亿 + 千 + 瓦.
MAGNITUDES: dict[str, float] = {
    "万亿": 1e12, "百万": 1e6, "十万": 1e5, "万千": 1e7, "亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2,
}
_MAGNITUDE_WORD = "|".join(MAGNITUDES)
_PREFIX = f"^((?:{_MAGNITUDE_WORD})*)(.+)$"
_MAGNITUDE_SPLIT = re.compile(_PREFIX)
# A written spelling under the fewest magnitude prefixes (万千米 = 万 + 千米, not 万千 + 米).
_SPELLABLE = f"^((?:{_MAGNITUDE_WORD})*?)({'|'.join(map(re.escape, sorted(SPELLINGS, key=len, reverse=True)))})$"
# Words that count things: a figure counted in one may be a value of an indicator counted in another,
# and then takes the catalog's word (托位 张 -> 个, firms 户 -> 家). People (人) are not things.
COUNT_WORDS = frozenset({
    "个", "家", "户", "张", "所", "处", "座", "项", "条", "件", "床", "套", "间", "幢", "栋", "路", "场次", "场",
    "次", "起", "例", "批", "宗", "台", "辆", "艘", "部", "册", "篇", "株", "棵", "门", "家次", "位",
})
# Bases that measure the same kind of thing without converting into each other.
_SAME_KIND = (COUNT_WORDS, {"人", "人次", "位"}, {"元", "美元"}, {"平方米", "亩"})
_BARE_MAGNITUDES = ("万", "亿")  # 达到3亿: the unit is the indicator's own
_MULTIPLY, _DIVIDE = "_unit_multiply", "_unit_divide"  # with_converted's scratch columns


def _respelled(unit: pl.Expr) -> pl.Expr:
    """A known spelling, whole or under magnitude prefixes (万m2 -> 万平方米); null when there is none."""
    found = unit.str.extract_groups(_SPELLABLE)
    return found.struct[0] + found.struct[1].replace(SPELLINGS)


def spelled(expr: pl.Expr) -> pl.Expr:
    """The catalog spelling of a unit as written (null stays null, blank becomes null); the parts of a
    compound unit are spelled one by one (元/m2 -> 元/平方米)."""
    key = expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_lowercase()
    key = pl.when(key == "").then(None).otherwise(key)
    by_part = key.str.split("/").list.eval(pl.coalesce(_respelled(pl.element()), pl.element())).list.join("/")
    return pl.coalesce(_respelled(key), by_part)


def _base(unit: pl.Expr) -> pl.Expr:
    rest = unit.str.extract(_PREFIX, 2)  # 万平方公里: the irregular unit under a magnitude prefix
    return rest.replace_strict({u: b for u, (b, _) in IRREGULAR.items()}, default=rest)


def _magnitude(unit: pl.Expr) -> pl.Expr:
    prefixes = unit.str.extract(_PREFIX, 1).str.extract_all(_MAGNITUDE_WORD)
    by_prefix = prefixes.list.eval(pl.element().replace_strict(MAGNITUDES, return_dtype=pl.Float64).product())
    irregular = unit.str.extract(_PREFIX, 2).replace_strict(
        {u: m for u, (_, m) in IRREGULAR.items()}, default=1.0, return_dtype=pl.Float64)
    return by_prefix.list.first().fill_null(1.0) * irregular


def _convertible(written: pl.Expr, target: pl.Expr) -> pl.Expr:
    return written.is_null() | target.is_null() | (written == target) | (_base(written) == _base(target))


def _scale(unit: pl.Expr, canonical: pl.Expr) -> dict[str, pl.Expr]:
    """What a value in ``unit`` is multiplied, then divided by to be in ``canonical`` (multiplier null when
    they do not convert; a missing unit or canonical unit is taken as already canonical). Multiplying
    before dividing keeps 30302100 万元 -> 3030.21 亿元 exact, where * 1e-4 would not be."""
    written, target = spelled(unit), spelled(canonical)
    same = written.is_null() | target.is_null() | (written == target)
    return {
        _MULTIPLY: pl.when(same).then(pl.lit(1.0)).when(_convertible(written, target)).then(_magnitude(written)),
        _DIVIDE: pl.when(same).then(pl.lit(1.0)).otherwise(_magnitude(target)),
    }


def with_converted(frame: pl.DataFrame, *, value: str, unit: str, canonical: str, alias: str,
                   factor: str | None = None) -> pl.DataFrame:
    """``frame`` with ``alias``: ``value`` from ``unit`` into ``canonical`` (null when the units do not
    convert), and, when named, ``factor``: the conversion factor. The units are spelled and compared once
    per distinct pair (a few hundred pairs over a million rows), not per row."""
    def scaled(number: pl.Expr) -> pl.Expr:
        return number * pl.col(_MULTIPLY) / pl.col(_DIVIDE)

    return (
        per_distinct(frame, [unit, canonical], lambda pairs: pairs.with_columns(**_scale(pl.col(unit), pl.col(canonical))))
        .with_columns(scaled(pl.col(value)).alias(alias), *([scaled(pl.lit(1.0)).alias(factor)] if factor else []))
        .drop(_MULTIPLY, _DIVIDE)
    )


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
    return frame.with_columns(pl.lit(1.0).alias("value")).pipe(
        with_converted, value="value", unit="unit", canonical="canonical", alias="factor")["factor"].item()


def to_canonical(frame: pl.DataFrame, *, value: str = "value", unit: str = "unit",
                 canonical: str = "canonical_unit") -> pl.DataFrame:
    """Convert ``value`` from ``unit`` to ``canonical`` in place; adds ``unit_factor`` (null = impossible unit)."""
    return with_converted(frame, value=value, unit=unit, canonical=canonical, alias=value, factor="unit_factor")


# --- one unit at a time (text extraction) -------------------------------------------------------

@lru_cache(maxsize=4096)  # a document writes a few dozen distinct units, each many times
def _spelled_and_base(unit: str) -> tuple[str | None, str | None]:
    spelling = pl.select(spelled(pl.lit(unit, dtype=pl.String)).alias("unit"))
    return spelling.select(pl.col("unit"), _base(pl.col("unit")).alias("base")).row(0)


def spell(unit: str) -> str:
    """The catalog spelling of one unit as written (名 -> 人, 万m2 -> 万平方米); '' stays ''."""
    return _spelled_and_base(unit)[0] or "" if unit else ""


def _base_of(unit: str) -> str:
    """The base of one unit (万人 -> 人, 平方公里 -> 平方米); '' when there is none."""
    return _spelled_and_base(unit)[1] or "" if unit else ""


@lru_cache(maxsize=4096)  # asked for every candidate indicator of every figure, of a few hundred unit pairs
def units_compatible(written: str, catalog: str) -> bool:
    """Whether a figure written in ``written`` can be a value of an indicator measured in ``catalog``:
    the same base, the same kind of thing (a counting word, money, area), or a per-unit figure
    (元/人) of its numerator's indicator. A bare 万/亿 or a missing unit fits anything."""
    if not written or not catalog or written in _BARE_MAGNITUDES:
        return True
    a, b = _base_of(written), _base_of(catalog)
    if a == b:
        return True
    if "/" in a or "/" in b:
        return ("/" not in a or "/" not in b) and _base_of(a.split("/")[0]) == _base_of(b.split("/")[0])
    return any(a in kind and b in kind for kind in _SAME_KIND)


# Value types whose unit is fixed, whatever the text writes (提高3个百分点, 1.9:1, 是2015年的2倍).
VALUE_TYPE_UNITS = {"change_pct": "%", "structure": "%", "change_pp": "个百分点", "ratio_multiple": "倍", "ratio": ""}


def figure_unit(value_type: str, written: str, catalog: str) -> str:
    """The unit of an extracted figure: its value type's own, else the written unit as the catalog words it."""
    if value_type in VALUE_TYPE_UNITS:
        return VALUE_TYPE_UNITS[value_type]
    return catalog_wording(written, catalog)


@lru_cache(maxsize=4096)  # asked for every figure, of a few dozen unit pairs
def catalog_wording(written: str, catalog: str) -> str:
    """A written unit as the catalog words it, magnitude kept: a bare magnitude takes the catalog's
    unit (3亿 of an indicator in 万元: 亿元), a counting word the catalog's counting word (万张 -> 万个
    where the catalog counts in 个). No written unit: the catalog's."""
    written = spell(written)
    if not written:
        return catalog
    counted = _without_magnitude(catalog)
    if written in _BARE_MAGNITUDES:
        return written + counted if catalog else written
    base = _without_magnitude(written)
    magnitude = written[:len(written) - len(base)]
    if base in COUNT_WORDS and counted in COUNT_WORDS:
        return magnitude + counted
    return written


def _without_magnitude(unit: str) -> str:
    """万千瓦 -> 瓦, 亿元 -> 元, 平方公里 -> 平方公里 (unlike the base, no irregular unit is resolved)."""
    return _MAGNITUDE_SPLIT.match(unit).group(2) if unit else ""
