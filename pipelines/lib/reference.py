"""Reference tables: the indicator catalog and the regions (GB/T 2260) with their aliases."""

from __future__ import annotations

from pathlib import Path

import polars as pl

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


def load_catalog(path: Path) -> pl.DataFrame:
    """The indicator catalog (indicators.csv); its ``key`` column becomes ``indicator_key``."""
    frame = pl.read_csv(path, infer_schema=False).rename({"key": "indicator_key"})
    return frame.select(list(CATALOG_SCHEMA)).cast(CATALOG_SCHEMA)


def load_regions(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).select(list(REGION_SCHEMA)).cast(REGION_SCHEMA)


def _names(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Every name in ``name_zh`` and ``aliases`` ('|'-separated) -> ``key``, one row each."""
    return (
        frame.select(
            key,
            pl.concat_list(pl.col("name_zh"), pl.col("aliases").fill_null("").str.split("|")).alias("name"),
        )
        .explode("name")
        .with_columns(pl.col("name").str.strip_chars())
        .filter(pl.col("name") != "")
        .unique(["name"], keep="first", maintain_order=True)
    )


def region_names(regions: pl.DataFrame) -> pl.DataFrame:
    """Every name a region goes by -> region_code."""
    return _names(regions, "region_code")


def indicator_names(catalog: pl.DataFrame) -> pl.DataFrame:
    """Every name an indicator goes by -> indicator_key."""
    return _names(catalog, "indicator_key")


PERIODS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
