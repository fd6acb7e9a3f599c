"""Extract the figures of many documents, re-using what an earlier run already extracted.

A document's facts depend only on its bytes (``doc_id``, a content hash), the identity the
manifest gives it (file, region, type, period, year), the extraction code and the indicator
catalog. The cache keys each document on the first two (``document_key``), inside a folder named
after the last two (the *extractor version*), so a nightly run after one document changed
re-extracts that document only, and any change to the extraction code or the catalog starts a
fresh cache. What it holds (``FactsCache``): one snapshot file of every document of the last
gathering, and one file per document extracted since. Files are written whole and renamed into
place, so parallel workers (Dagster's multiprocess executor, or several machines sharing the
folder) never see half a file.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.lib.extraction import FACT_SCHEMA, extract_facts
from pipelines.lib.parquet_cache import ParquetCache, code_digest, module_closure, read_parquet_paths
from pipelines.lib.parquet_cache import cache_dir as _named_cache_dir
from pipelines.lib.reading import UnreadableDocument
from pipelines.lib.stage import empty_rejected, rejected_frame

CACHE_FORMAT = "1"  # bump when the cache layout itself changes
ENTRY_POINT = "pipelines.lib.extraction"
IDENTITY_COLUMNS = ("doc_id", "file", "region_name", "doc_type", "period_start", "period_end", "year")
FACTS_WITH_DOC_ID = {**FACT_SCHEMA, "doc_id": pl.String}


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


SNAPSHOT = "snapshot"
KEYED_SCHEMA = {**FACT_SCHEMA, "_key": pl.String}


class FactsCache(ParquetCache):
    """Facts per document under ``root/<extractor version>/``: ``snapshot.parquet`` holds those of every
    document of the last gathering in one file (reading 17,400 small files took 10 s), ``<document
    key>.parquet`` those extracted since (the parallel steps write them; the next gathering folds them
    into the snapshot). Each document of the snapshot has a marker row (``line`` null, only ``_key``), so
    a document without figures is known too and the one file says everything it holds."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._snapshot: pl.DataFrame | None = None
        self._snapshot_keys: set[str] = set()

    def snapshot(self) -> pl.DataFrame:
        """The snapshot, read once: the keys a run sees and the facts it loads come from the same read,
        even if another run's gathering replaces the file in between."""
        if self._snapshot is None:
            path = self.path(SNAPSHOT)
            self._snapshot = read_parquet_paths(path) if path.exists() else pl.DataFrame(schema=KEYED_SCHEMA)
            self._snapshot_keys = set(self._snapshot["_key"].unique())
        return self._snapshot

    def snapshot_keys(self) -> set[str]:
        self.snapshot()
        return self._snapshot_keys

    def has(self, key: str) -> bool:
        return key in self.snapshot_keys() or self.path(key).exists()

    def load(self, keys: list[str]) -> pl.DataFrame:
        """The cached facts of ``keys`` (KEYED_SCHEMA), in no particular order."""
        in_snapshot = self.snapshot_keys()
        parts = [pl.DataFrame(schema=KEYED_SCHEMA)]
        if wanted := [k for k in keys if k in in_snapshot]:
            parts.append(self.snapshot().filter(pl.col("_key").is_in(wanted) & pl.col("line").is_not_null()))
        if single := [k for k in keys if k not in in_snapshot]:
            parts.append(
                read_parquet_paths([self.path(k) for k in single], schema=FACT_SCHEMA, include_file_paths="_source")
                .with_columns(pl.col("_source").str.extract(r"([0-9a-f]+)\.parquet$").alias("_key"))
                .drop("_source"))
        return pl.concat(parts)

    def consolidate(self, facts: pl.DataFrame, keys: list[str]) -> int:
        """Make the snapshot hold exactly the documents ``keys`` (their facts in KEYED_SCHEMA), then drop
        the per-document files and other versions; returns the files removed."""
        written = {p.name.split(".", 1)[0] for p in self.folder.glob("*.parquet")} if self.folder.exists() else set()
        if set(keys) != self.snapshot_keys() or written - {SNAPSHOT}:
            markers = pl.DataFrame({"_key": keys}, schema={"_key": pl.String})
            kept = facts.select(list(KEYED_SCHEMA)).filter(pl.col("_key").is_in(keys))  # not those left uncached
            self.store(SNAPSHOT, pl.concat([kept, markers], how="diagonal"))
            self._snapshot = None
        return self.prune({SNAPSHOT})


@dataclass(frozen=True)
class ExtractionSummary:
    keys: list[str]  # cache key of every document whose facts are cached, in order
    extracted: int
    reused: int
    rejected: pl.DataFrame = field(default_factory=empty_rejected)  # documents that could not be read again


def extract_documents(
    documents: pl.DataFrame, catalog: pl.DataFrame, cache: FactsCache | None = None,
    regions: pl.DataFrame | None = None, reread: Callable[[dict], tuple[str, bool]] | None = None,
    with_keys: bool = False,
) -> tuple[pl.DataFrame, ExtractionSummary]:
    """Facts of every document (rows of DOCUMENT_SCHEMA), with ``doc_id``, in document order.

    With a cache, documents seen before are read back and only the others are extracted (and stored).
    A document without ``text`` (plan_documents skipped the unchanged file) is read by ``reread``
    (documents.reread_text), which also says whether its bytes are still those of its ``doc_id``.
    ``with_keys``: keep each row's cache key in ``_key`` (for FactsCache.consolidate)."""
    identities = documents.select(*IDENTITY_COLUMNS, "text").to_dicts()
    keys = [document_key(doc) for doc in identities]
    fresh, fresh_keys, reused, uncached, unreadable = [], [], [], set(), []
    for doc, key in zip(identities, keys, strict=True):
        if cache is not None and cache.has(key):
            reused.append(key)
            continue
        text, current = doc["text"], True
        if text is None:
            if reread is None:
                raise ValueError(f"{doc['file']}: no text and no way to read it again (pass reread)")
            try:
                text, current = reread(doc)
            except (UnreadableDocument, OSError, ValueError) as exc:  # gone or unreadable since plan_documents ran
                unreadable.append({"source_file": doc["file"], "location": "whole file", "stage": "extract",
                                   "reason": f"{exc}; its figures are left out of this run", "raw": None})
                uncached.add(key)
                continue
        facts = extract_facts(  # FACT_SCHEMA already: no per-document cast
            text, doc=doc["file"], region=doc["region_name"], doc_type=doc["doc_type"],
            period_start=doc["period_start"], period_end=doc["period_end"], year=doc["year"], catalog=catalog,
            regions=regions,
        )
        if cache is not None and current:
            cache.store(key, facts)
        elif not current:  # its bytes changed under the run: never file their facts under the old content hash
            uncached.add(key)
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
    cached = cache.load(reused) if cache is not None else pl.DataFrame(schema=KEYED_SCHEMA)
    # Back in document order (as a run without a cache gives it); within a document, the extractor's order.
    order = pl.DataFrame({"_key": keys, "doc_id": documents["doc_id"]}).with_row_index("_doc_order")
    facts = (
        pl.concat([cached, extracted.select(list(KEYED_SCHEMA))])
        .join(order, on="_key", how="left", maintain_order="left")
        .sort("_doc_order", maintain_order=True)
        .select(*FACTS_WITH_DOC_ID, *(["_key"] if with_keys else []))
    )
    return facts, ExtractionSummary([k for k in keys if k not in uncached], extracted=len(fresh), reused=len(reused),
                                    rejected=rejected_frame(unreadable))
