"""Reference tables: the indicator catalog and the regions (GB/T 2260) with their aliases; reading
and validating them, and the one way names in the inputs are resolved to their codes.

Reading: indicators.csv and regions.csv are analysts' files (UTF-8 or GB18030, as Excel saves them).
Cells are trimmed; a row that fails its pandera model (schemas.CatalogModel / RegionModel: an empty
name, a malformed or repeated code, an unknown level, direction or kind) is quarantined with the file,
its row and the reason, and the other rows are used. A row that repeats an earlier one exactly is
refused as a repeat and the earlier one kept; rows that give one code different contents are all
held back, as nobody can tell by rule which one is right.

Resolution: a name resolves to a code when it is the code itself, the name_zh, an alias, or (regions)
the parent's name or alias followed by the region's name or alias (南京市鼓楼区, 苏州张家港). Names are
compared after NFKC (full-width and Ⅲ folded), without spaces, quotes or case, so "张家港市 " and
"张家港市" are one name. A name that several codes share (GB/T 2260 has a 鼓楼区 in 南京市 and in 福州市)
resolves to nothing: where it is used, the row is refused with a reason naming the candidates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipelines.lib.frames import per_distinct
from pipelines.lib.reading import read_analyst_csv
from pipelines.lib.stage import StageResult

if TYPE_CHECKING:
    from pipelines.lib.schemas import Boundary

CATALOG_SCHEMA = {
    "indicator_key": pl.String,
    "name_zh": pl.String,
    "aliases": pl.String,
    "unit": pl.String,
    "direction": pl.String,
    "category": pl.String,
    "value_kind": pl.String,
    "notes": pl.String,
}
REGION_SCHEMA = {
    "region_code": pl.String,
    "name_zh": pl.String,
    "level": pl.String,
    "parent_code": pl.String,
    "aliases": pl.String,
}
PERIODS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
REGION_ADVICE = "write it with its parent area (e.g. 南京市鼓楼区) or as the region code"
INDICATOR_ADVICE = "write the indicator key or a name only one indicator has"


# --- reading -----------------------------------------------------------------------------------------

def read_catalog(path: Path) -> StageResult:
    """The indicator catalog (indicators.csv; its ``key`` column becomes ``indicator_key``): the valid rows,
    and the refused ones with their row and reason."""
    from pipelines.lib.schemas import CATALOG  # schemas imports this module (PERIODS)

    return _validated(read_analyst_csv(path).rename({"key": "indicator_key"}, strict=False),
                      CATALOG_SCHEMA, path, CATALOG)


def read_regions(path: Path) -> StageResult:
    """The regions (regions.csv): the valid rows, and the refused ones with their row and reason."""
    from pipelines.lib.schemas import REGIONS  # schemas imports this module (PERIODS)

    return _validated(read_analyst_csv(path), REGION_SCHEMA, path, REGIONS)


def load_catalog(path: Path) -> pl.DataFrame:
    """The valid rows of the indicator catalog (read_catalog reports the others)."""
    return read_catalog(path).rows


def load_regions(path: Path) -> pl.DataFrame:
    """The valid rows of the regions table (read_regions reports the others)."""
    return read_regions(path).rows


def _validated(frame: pl.DataFrame, schema: dict, path: Path, boundary: Boundary) -> StageResult:
    from pipelines.lib.schemas import quarantine_invalid

    columns = list(schema)
    rows = (
        frame.with_columns(pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns)
        .select(columns)
        .with_columns(pl.col(c).str.strip_chars().replace("", None) for c in columns)
        .cast(schema)
        .with_columns(pl.lit(path.name).alias("source_file"),
                      pl.int_range(2, pl.len() + 2).alias("file_row"))  # line 1 is the header
    )
    repeat = pl.int_range(pl.len()).over(columns) > 0
    repeats = rows.with_columns(pl.col("file_row").min().over(columns).alias("first")).filter(repeat)
    rejected = repeats.select(
        "source_file", pl.format("row {}", "file_row").alias("location"), pl.lit("reference").alias("stage"),
        pl.format("repeats row {} exactly; the first is used, delete the repeat", "first").alias("reason"),
        pl.concat_str(columns, separator=",", ignore_nulls=True).alias("raw"),
    )
    result = quarantine_invalid(StageResult(rows.filter(~repeat), rejected), boundary)
    return StageResult(result.rows.select(columns), result.rejected)


# --- names -------------------------------------------------------------------------------------------

def match_key(expr: pl.Expr) -> pl.Expr:
    """How names are compared: NFKC (full-width and Ⅲ folded), no spaces, quotes or case."""
    return expr.str.normalize("NFKC").str.replace_all(r"[\s“”\"‘’'「」《》]", "").str.to_lowercase()


def _spellings(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Every name in ``name_zh`` and ``aliases`` ('|'-separated) -> ``key``, one row each."""
    return (
        frame.select(
            key,
            pl.concat_list(pl.col("name_zh"), pl.col("aliases").fill_null("").str.split("|")).alias("name"),
        )
        .explode("name")
        .with_columns(pl.col("name").str.strip_chars())
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .unique(maintain_order=True)
    )


def _unambiguous(names: pl.DataFrame, key: str) -> pl.DataFrame:
    return names.filter(pl.col(key).n_unique().over("name") == 1).unique("name", maintain_order=True)


def region_names(regions: pl.DataFrame) -> pl.DataFrame:
    """Every name or alias that belongs to one region only -> region_code."""
    return _unambiguous(_spellings(regions, "region_code"), "region_code")


def indicator_names(catalog: pl.DataFrame) -> pl.DataFrame:
    """Every name or alias that belongs to one indicator only -> indicator_key."""
    return _unambiguous(_spellings(catalog, "indicator_key"), "indicator_key")


def region_spellings(regions: pl.DataFrame) -> pl.DataFrame:
    """Every way a text may write a region -> region_code, ambiguous ones included: its names and aliases,
    and each of them after a name or alias of its parent (南京市鼓楼区, 苏州张家港)."""
    own = _spellings(regions, "region_code")
    parents = regions.select("region_code", "parent_code").join(
        own.rename({"region_code": "parent_code", "name": "parent_name"}), on="parent_code")
    qualified = (
        own.join(parents, on="region_code")
        .select("region_code", (pl.col("parent_name") + pl.col("name")).alias("name"))
    )
    return pl.concat([own, qualified]).unique(maintain_order=True)


def _lookup(names: pl.DataFrame, key: str, described: pl.DataFrame, advice: str) -> pl.DataFrame:
    """``match`` (match_key of a name; the key itself is a name too) -> ``key``; where several keys share a
    match, ``key`` is null and ``ambiguity`` says which ones and what to write instead."""
    pairs = (
        pl.concat([names.select("name", key), names.select(pl.col(key).alias("name"), key)])
        .with_columns(match_key(pl.col("name")).alias("match"))
        .filter(pl.col("match") != "")
        .unique(["match", key])
        .join(described, on=key, how="left")
        .sort("match", key)
    )
    return pairs.group_by("match", maintain_order=True).agg(
        pl.when(pl.len() == 1).then(pl.col(key).first()).alias(key),
        pl.when(pl.len() > 1)
        .then(pl.format(" is ambiguous: {}; {}", pl.col("described").str.join(", "), pl.lit(advice)))
        .alias("ambiguity"),
    )


def region_lookup(regions: pl.DataFrame) -> pl.DataFrame:
    """match -> region_code (null when ambiguous) and ambiguity (see ``_lookup``). A candidate is shown as
    its code and its name after its parent's: 320106 (南京市鼓楼区)."""
    parents = regions.select(pl.col("region_code").alias("parent_code"), pl.col("name_zh").alias("parent_name"))
    described = regions.join(parents, on="parent_code", how="left").select(
        "region_code",
        pl.format("{} ({})", "region_code", pl.concat_str([pl.col("parent_name").fill_null(""), pl.col("name_zh")]))
        .alias("described"),
    )
    return _lookup(region_spellings(regions), "region_code", described, REGION_ADVICE)


def indicator_lookup(catalog: pl.DataFrame) -> pl.DataFrame:
    """match -> indicator_key (null when ambiguous) and ambiguity (see ``_lookup``)."""
    described = catalog.select("indicator_key", pl.format("{} ({})", "indicator_key", "name_zh").alias("described"))
    return _lookup(_spellings(catalog, "indicator_key"), "indicator_key", described, INDICATOR_ADVICE)


def resolve(frame: pl.DataFrame, text: str | pl.Expr, lookup: pl.DataFrame, *, alias: str,
            ambiguity: str | None = None) -> pl.DataFrame:
    """Add ``alias``: the code or key whose name matches ``text`` (a region_lookup or indicator_lookup),
    null when none or several do; and, when ``ambiguity`` is given, that column: why an ambiguous
    ``text`` did not resolve ("'鼓楼区' is ambiguous: 320106 (南京市鼓楼区), 350102 (福州市鼓楼区); …")."""
    text = pl.col(text) if isinstance(text, str) else text
    key = next(c for c in lookup.columns if c not in ("match", "ambiguity"))

    def looked_up(texts: pl.DataFrame) -> pl.DataFrame:
        found = texts.with_columns(match_key(pl.col("_text")).alias("_match")).join(
            lookup.rename({key: "_key", "ambiguity": "_ambiguity"}), left_on="_match", right_on="match", how="left")
        return found.select("_text", "_key", *([] if ambiguity is None else [
            pl.when(pl.col("_ambiguity").is_not_null())
            .then(pl.format("'{}'{}", pl.col("_text").str.strip_chars(), pl.col("_ambiguity"))).alias("_ambiguity")]))

    # Each distinct text is normalized and looked up once (a statistics file repeats a few hundred
    # names over a million rows), then joined back on the text itself.
    resolved = frame.with_columns(text.alias("_text")).pipe(per_distinct, ["_text"], looked_up).with_columns(
        pl.col("_key").alias(alias))
    if ambiguity is not None:
        resolved = resolved.with_columns(pl.col("_ambiguity").alias(ambiguity))
    return resolved.drop("_text", "_key", "_ambiguity", strict=False)


def resolve_region(frame: pl.DataFrame, text: str | pl.Expr, regions: pl.DataFrame, *,
                   alias: str = "region_code", ambiguity: str = "region_ambiguity",
                   otherwise: pl.Expr | None = None) -> pl.DataFrame:
    """Add ``alias``: the region_code of the region ``text`` names (see the module docstring), and
    ``ambiguity``: why an ambiguous name did not resolve. Where ``text`` is null, ``alias`` is
    ``otherwise`` (e.g. the document's region for a figure that names none)."""
    resolved = resolve(frame, text, region_lookup(regions), alias=alias, ambiguity=ambiguity)
    if otherwise is None:
        return resolved
    text = pl.col(text) if isinstance(text, str) else text
    return resolved.with_columns(pl.when(text.is_null()).then(otherwise).otherwise(pl.col(alias)).alias(alias))
