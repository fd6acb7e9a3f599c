"""What the extractors know about the document they read (shared by prose and table extraction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

T = TypeVar("T")


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
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def from_catalog(self, build: Callable[[pl.DataFrame], T]) -> T:
        """``build(catalog)`` (a builder cached by content, like cached_matcher), asked once per document:
        tables and prose share it, and the content check is not free."""
        if build not in self._derived:
            self._derived[build] = build(self.catalog)
        return self._derived[build]


_KEPT_PER_BUILDER = 4
_BUILT: dict[Callable, list[tuple[pl.DataFrame, object]]] = {}


def built_once(build: Callable[[pl.DataFrame], T], frame: pl.DataFrame) -> T:
    """``build(frame)``, made once per process for each content of ``frame``: the catalog is the same
    for every document of a run, and what is derived from it (name index, units) costs more than
    reading a document. Content, not identity, is the key (a copy of the frame finds the same result)."""
    entries = _BUILT.setdefault(build, [])
    for kept, value in entries:
        if kept.columns == frame.columns and kept.dtypes == frame.dtypes and kept.equals(frame):
            return value  # type: ignore[return-value]
    value = build(frame)
    entries.insert(0, (frame.clone(), value))  # a clone: changing the caller's frame later changes no key
    del entries[_KEPT_PER_BUILDER:]
    return value
