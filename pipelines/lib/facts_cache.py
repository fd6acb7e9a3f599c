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

import ast
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.lib.extraction import FACT_SCHEMA, extract_facts

CACHE_FORMAT = "1"  # bump when the cache layout itself changes
ENTRY_POINT = "pipelines.lib.extraction"
LIB_PACKAGE = "pipelines.lib"
LIB_DIR = Path(__file__).resolve().parent
IDENTITY_COLUMNS = ("doc_id", "file", "region_name", "doc_type", "period_start", "period_end", "year")
FACTS_WITH_DOC_ID = {**FACT_SCHEMA, "doc_id": pl.String}
CACHED_SCHEMA = {**FACT_SCHEMA, "_source": pl.String}


CACHE_DIR_ENV = "PLANWATCH_FACTS_CACHE_DIR"


def cache_dir(warehouse_dir: Path) -> Path:
    """PLANWATCH_FACTS_CACHE_DIR when set (e.g. a shared folder for workers on several machines),
    else <warehouse_dir>/cache/facts."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).resolve() if configured else Path(warehouse_dir) / "cache" / "facts"


def _lib_imports(module: str) -> set[str]:
    """The pipelines.lib modules that ``module`` imports directly (absolute or relative imports)."""
    path = LIB_DIR / f"{module.rsplit('.', 1)[-1]}.py"
    if not path.exists():
        return set()
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from .x import y / from . import x
                base = f"{LIB_PACKAGE}.{base}" if base else LIB_PACKAGE
            if base == LIB_PACKAGE:
                found |= {f"{LIB_PACKAGE}.{alias.name}" for alias in node.names}
            elif base.startswith(f"{LIB_PACKAGE}."):
                found.add(base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(f"{LIB_PACKAGE}.")}
    return {m for m in found if (LIB_DIR / f"{m.rsplit('.', 1)[-1]}.py").exists()}


def extraction_modules() -> list[str]:
    """pipelines.lib.extraction and every pipelines.lib module it reaches by imports."""
    seen, todo = set(), [ENTRY_POINT]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_lib_imports(module) - seen)
    return sorted(seen)


def extractor_version(catalog: pl.DataFrame, regions: pl.DataFrame | None = None) -> str:
    """Hash of the extraction code (the import closure of pipelines.lib.extraction), the catalog,
    the region reference (tables repair area names from it) and polars."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|polars {pl.__version__}".encode())
    for module in extraction_modules():
        digest.update(module.encode())
        digest.update((LIB_DIR / f"{module.rsplit('.', 1)[-1]}.py").read_bytes())
    digest.update(catalog.write_csv().encode())
    if regions is not None:
        digest.update(regions.write_csv().encode())
    return digest.hexdigest()[:16]


def document_key(doc: dict) -> str:
    """Cache key of one document row: its content hash and the identity given to the extractor."""
    identity = "|".join("" if doc[c] is None else str(doc[c]) for c in IDENTITY_COLUMNS)
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


@dataclass
class FactsCache:
    """Per-document facts under ``root/<extractor version>/<document key>.parquet``."""

    root: Path
    version: str
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.root) / self.version

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.parquet"

    def store(self, key: str, facts: pl.DataFrame) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        facts.write_parquet(partial)
        os.replace(partial, self.path(key))

    def load(self, keys: list[str]) -> pl.DataFrame:
        """The cached facts of ``keys``, each row tagged with its file in ``_source``."""
        if not keys:
            return pl.DataFrame(schema=CACHED_SCHEMA)
        return pl.read_parquet([self.path(k) for k in keys], schema=FACT_SCHEMA, include_file_paths="_source")

    def prune(self, live_keys: set[str]) -> int:
        """Drop other extractor versions and documents no longer present; returns the files removed."""
        removed = 0
        if Path(self.root).exists():
            for other in Path(self.root).iterdir():
                if other != self.folder and other.is_dir():
                    removed += sum(1 for _ in other.glob("*.parquet"))
                    shutil.rmtree(other, ignore_errors=True)
        if self.folder.exists():
            for entry in self.folder.iterdir():
                if entry.suffix != ".parquet" or entry.stem not in live_keys:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed


@dataclass(frozen=True)
class ExtractionSummary:
    keys: list[str]  # cache key of every document, in order
    extracted: int
    reused: int


def extract_documents(
    documents: pl.DataFrame, catalog: pl.DataFrame, cache: FactsCache | None = None,
    regions: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, ExtractionSummary]:
    """Facts of every document (rows of DOCUMENT_SCHEMA), with ``doc_id``, in document order.

    With a cache, documents seen before are read back and only the others are extracted (and stored)."""
    identities = documents.select(IDENTITY_COLUMNS).to_dicts()
    keys = [document_key(doc) for doc in identities]
    texts = documents["text"]
    fresh, fresh_keys, reused = [], [], []
    for position, (doc, key) in enumerate(zip(identities, keys, strict=True)):
        if cache is not None and cache.path(key).exists():
            reused.append(key)
            continue
        facts = extract_facts(  # FACT_SCHEMA already: no per-document cast
            texts[position], doc=doc["file"], region=doc["region_name"], doc_type=doc["doc_type"],
            period_start=doc["period_start"], period_end=doc["period_end"], year=doc["year"], catalog=catalog,
            regions=regions,
        )
        if cache is not None:
            cache.store(key, facts)
        fresh.append(facts)
        fresh_keys.append(key)
    # Each document's key on its rows, added once for all (per document it costs more than the extraction
    # of a short document).
    extracted = (pl.concat(fresh) if fresh else pl.DataFrame(schema=FACT_SCHEMA)).cast(FACT_SCHEMA).with_columns(
        pl.Series("_key", [key for key, facts in zip(fresh_keys, fresh, strict=True) for _ in range(facts.height)],
                  dtype=pl.String))
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
