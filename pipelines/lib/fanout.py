"""How a run spreads its per-document work: which Dagster executor runs the job, and how the
documents are cut into chunks that run as parallel steps.

The executor is chosen by the environment, so the same code location runs in one process
(the default: one DuckDB writer, nothing to configure) or fans the extraction out over
processes — or, with dagster-celery / dagster-k8s, over machines (benchmarks/README.md).

- PLANWATCH_EXECUTOR: ``in_process`` (default) or ``multiprocess``.
- PLANWATCH_MAX_CONCURRENT: processes at a time under ``multiprocess`` (default: the CPU count); also the
  worker processes the report draws region files with (lib/report.py), under either executor.
- PLANWATCH_EXTRACT_CHUNKS: how many chunks the documents are cut into (default: twice the
  processes, so a slow chunk does not leave a worker idle for long).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from pipelines.lib.stage import empty_rejected

EXECUTOR_ENV = "PLANWATCH_EXECUTOR"
MAX_CONCURRENT_ENV = "PLANWATCH_MAX_CONCURRENT"
CHUNKS_ENV = "PLANWATCH_EXTRACT_CHUNKS"
EXECUTORS = ("in_process", "multiprocess")


@dataclass(frozen=True)
class ChunkFacts:
    """What one parallel extraction step hands back: where its chunk starts, its facts, its cache keys,
    and the extractor version they were cached under."""

    start: int
    facts: pl.DataFrame
    keys: list[str]
    extracted: int
    reused: int
    version: str
    rejected: pl.DataFrame = field(default_factory=empty_rejected)  # documents that could not be read again


@dataclass(frozen=True)
class FanOut:
    executor: str
    max_concurrent: int
    chunks: int


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r}: expected a whole number of at least 1")
    return int(raw)


def fan_out(env: Mapping[str, str] | None = None) -> FanOut:
    """The executor, process count and chunk count the environment asks for."""
    env = os.environ if env is None else env
    executor = env.get(EXECUTOR_ENV, "").strip().lower().replace("-", "_") or "in_process"
    if executor not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={executor!r}: expected one of {', '.join(EXECUTORS)}")
    max_concurrent = _positive_int(env, MAX_CONCURRENT_ENV, os.cpu_count() or 1)
    return FanOut(executor, max_concurrent, _positive_int(env, CHUNKS_ENV, 2 * max_concurrent))


def document_chunks(documents: pl.DataFrame, chunks: int) -> list[tuple[int, pl.DataFrame]]:
    """At most ``chunks`` contiguous slices of ``documents``, as (first row, slice), with about the
    same amount of text each (never an empty slice; one empty slice when there are no documents)."""
    if documents.height == 0:
        return [(0, documents)]
    sizes = documents.select(pl.col("size_bytes").fill_null(0).cast(pl.Int64) + 1).to_series()
    # Chunk number of each document: where the middle of its text falls on the running total.
    middle = (sizes.cum_sum() - sizes / 2) / sizes.sum()
    chunk_of = (middle * chunks).floor().cast(pl.Int64).clip(0, chunks - 1)
    bounds = pl.DataFrame({"chunk": chunk_of}).with_row_index("row").group_by("chunk", maintain_order=True).agg(
        pl.col("row").min().alias("start"), pl.len().alias("length")
    )
    return [(start, documents.slice(start, length)) for start, length in bounds.select("start", "length").iter_rows()]


def gather_chunks(chunks: list[ChunkFacts]) -> ChunkFacts:
    """The chunks' results put back together in document order, whatever order they finished in."""
    ordered = sorted(chunks, key=lambda c: c.start)
    return ChunkFacts(
        start=0,
        facts=pl.concat([c.facts for c in ordered]),
        keys=[k for c in ordered for k in c.keys],
        extracted=sum(c.extracted for c in ordered),
        reused=sum(c.reused for c in ordered),
        version=ordered[0].version,
        rejected=pl.concat([c.rejected for c in ordered]),
    )
