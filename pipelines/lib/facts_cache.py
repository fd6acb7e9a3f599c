"""Extract the figures of many documents, re-using what an earlier run already extracted.

A document's facts depend only on its bytes (``doc_id``, a content hash), the identity the
manifest gives it (file, region, type, period, year), the extraction code and the indicator
catalog. The cache keys one parquet file per document on the first two, inside a folder named
after the last two (the *extractor version*), so a nightly run after one document changed
re-extracts that document only, and any change to the extraction code or the catalog starts a
fresh cache. Files are written whole and renamed into place, so parallel workers (Dagster's
multiprocess executor, or several machines sharing the folder) never see half a file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.lib.extraction import FACT_SCHEMA, extract_facts
from pipelines.lib.parquet_cache import ParquetCache, code_digest, module_closure
from pipelines.lib.parquet_cache import cache_dir as _named_cache_dir

CACHE_FORMAT = "1"  # bump when the cache layout itself changes
ENTRY_POINT = "pipelines.lib.extraction"
IDENTITY_COLUMNS = ("doc_id", "file", "region_name", "doc_type", "period_start", "period_end", "year")
FACTS_WITH_DOC_ID = {**FACT_SCHEMA, "doc_id": pl.String}
CACHED_SCHEMA = {**FACT_SCHEMA, "_source": pl.String}


CACHE_DIR_ENV = "PLANWATCH_FACTS_CACHE_DIR"


def cache_dir(warehouse_dir: Path) -> Path:
    """PLANWATCH_FACTS_CACHE_DIR when set (e.g. a shared folder for workers on several machines),
    else <warehouse_dir>/cache/facts."""
    return _named_cache_dir(warehouse_dir, "facts")


def extraction_modules() -> list[str]:
    """pipelines.lib.extraction and every pipelines.lib module it reaches by imports."""
    return module_closure(ENTRY_POINT)


def extractor_version(catalog: pl.DataFrame, regions: pl.DataFrame | None = None) -> str:
    """Hash of the extraction code (the import closure of pipelines.lib.extraction), the catalog,
    the region reference (tables repair area names from it) and polars."""
    digest = code_digest(ENTRY_POINT, CACHE_FORMAT)
    digest.update(catalog.write_csv().encode())
    if regions is not None:
        digest.update(regions.write_csv().encode())
    return digest.hexdigest()[:16]


def document_key(doc: dict) -> str:
    """Cache key of one document row: its content hash and the identity given to the extractor."""
    identity = "|".join("" if doc[c] is None else str(doc[c]) for c in IDENTITY_COLUMNS)
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


class FactsCache(ParquetCache):
    """Per-document facts under ``root/<extractor version>/<document key>.parquet``."""

    def load(self, keys: list[str]) -> pl.DataFrame:
        """The cached facts of ``keys``, each row tagged with its file in ``_source``."""
        if not keys:
            return pl.DataFrame(schema=CACHED_SCHEMA)
        return pl.read_parquet([self.path(k) for k in keys], schema=FACT_SCHEMA, include_file_paths="_source")


@dataclass(frozen=True)
class ExtractionSummary:
    keys: list[str]  # cache key of every document, in order
    extracted: int
    reused: int


def extract_documents(
    documents: pl.DataFrame, catalog: pl.DataFrame, cache: FactsCache | None = None,
    regions: pl.DataFrame | None = None, reread: Callable[[dict], tuple[str, bool]] | None = None,
) -> tuple[pl.DataFrame, ExtractionSummary]:
    """Facts of every document (rows of DOCUMENT_SCHEMA), with ``doc_id``, in document order.

    With a cache, documents seen before are read back and only the others are extracted (and stored).
    A document without ``text`` (plan_documents skipped the unchanged file) is read by ``reread``
    (documents.reread_text), which also says whether its bytes are still those of its ``doc_id``."""
    identities = documents.select(*IDENTITY_COLUMNS, "text").to_dicts()
    keys = [document_key(doc) for doc in identities]
    fresh, fresh_keys, reused = [], [], []
    for doc, key in zip(identities, keys, strict=True):
        if cache is not None and cache.path(key).exists():
            reused.append(key)
            continue
        text, current = (doc["text"], True) if doc["text"] is not None or reread is None else reread(doc)
        facts = extract_facts(  # FACT_SCHEMA already: no per-document cast
            text or "", doc=doc["file"], region=doc["region_name"], doc_type=doc["doc_type"],
            period_start=doc["period_start"], period_end=doc["period_end"], year=doc["year"], catalog=catalog,
            regions=regions,
        )
        if cache is not None and current:  # never file the facts of changed bytes under the old content hash
            cache.store(key, facts)
        fresh.append(facts)
        fresh_keys.append(key)
    # Each document's key on its rows, added once for all (per document it costs more than the extraction
    # of a short document).
    row_keys = (
        pl.DataFrame({"_key": fresh_keys, "_rows": [facts.height for facts in fresh]},
                     schema={"_key": pl.String, "_rows": pl.UInt32})
        .filter(pl.col("_rows") > 0)
        .select(pl.col("_key").repeat_by("_rows").explode())
    )
    extracted = pl.concat(
        [pl.concat(fresh) if fresh else pl.DataFrame(schema=FACT_SCHEMA), row_keys], how="horizontal"
    ).cast(FACT_SCHEMA)
    cached = (cache.load(reused) if cache is not None else pl.DataFrame(schema=CACHED_SCHEMA)).with_columns(pl.col("_source").str.extract(r"([0-9a-f]+)\.parquet$").alias("_key"))
    # Back in document order (as a run without a cache gives it); within a document, the extractor's order.
    order = pl.DataFrame({"_key": keys, "doc_id": documents["doc_id"]}).with_row_index("_doc_order")
    facts = (
        pl.concat([cached.drop("_source"), extracted])
        .join(order, on="_key", how="left", maintain_order="left")
        .sort("_doc_order", maintain_order=True)
        .select(list(FACTS_WITH_DOC_ID))
    )
    return facts, ExtractionSummary(keys, extracted=len(fresh), reused=len(reused))
