"""What the extractors know about the document they read (shared by prose and table extraction)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class ExtractionContext:
    doc: str  # file name, as in the gold's ``doc`` column
    region: str | None  # the document's region as named (张家港市)
    doc_type: str | None  # five_year_plan / special_plan / implementation_plan / work_report / bulletin
    period_start: int | None  # 2021 for 十四五
    period_end: int | None  # 2025 for 十四五
    year: int | None  # year of publication (a work report's year = its annual targets' year)
    catalog: pl.DataFrame  # the indicator catalog (pipelines.lib.reference.load_catalog)
    regions: pl.DataFrame | None = None  # region reference: repairs damaged area names in tables
