"""Frame work done again only where its input changed, with the results of the last run kept on disk.

A nightly run after one document changed hands the stages the same million statistics rows and the same
country's targets as the night before, but for a region or two. Two memos avoid redoing that work:

- ``SameInputMemo``: a pure function of whole frames (e.g. normalizing every statistics row) returns its
  stored result when every input frame hashes as it did when the result was stored.
- ``PartitionMemo``: a function that is local to a partition (each region's output rows follow from that
  region's input rows alone, e.g. assessing targets against their region's observations) runs on the
  partitions whose input rows changed; the rows of the others come from the stored output.

Both are keyed by a version the caller builds (its code's digest, the reference tables it reads) and
live in a folder of their own (lib/parquet_cache.py); any miss, unreadable file or new version simply
computes everything. Hashes are polars row hashes (stable for a polars version, which the version
includes); a partition's digest depends on its rows and their order. With PLANWATCH_MEMO_VERIFY=1 every
call also computes from scratch and raises if the results differ: the tests run that way, so a function
wrongly declared local fails them instead of drifting silently.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from pipelines.lib.parquet_cache import ParquetCache, read_parquet_paths

VERIFY_ENV = "PLANWATCH_MEMO_VERIFY"
_PART = "_memo_partition"
_NULL_PART = "\x00null"  # the partition of rows whose key is null


def frame_digest(frame: pl.DataFrame) -> str:
    """A digest of the frame's schema, rows and row order."""
    digest = hashlib.blake2b(repr(frame.schema).encode(), digest_size=16)
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes() if frame.height else b"")
    return digest.hexdigest()


def _verify() -> bool:
    return os.environ.get(VERIFY_ENV, "") not in ("", "0")


def _check_same(name: str, memoized: pl.DataFrame, fresh: pl.DataFrame) -> None:
    if memoized.equals(fresh, null_equal=True):
        return
    columns = ([c for c in fresh.columns if not memoized[c].equals(fresh[c], check_names=True, null_equal=True)]
               if memoized.schema == fresh.schema and memoized.height == fresh.height else "schema or row count")
    raise AssertionError(f"{name}: the memoized result differs from a computation from scratch "
                         f"({memoized.height} rows against {fresh.height}; differing columns: {columns})")


class _Memo:
    """One memo's files: ``root/<version>/result.<part>.parquet`` (lib/parquet_cache.py). Each memo has a
    root of its own: a new version prunes the folders of the others."""

    NAME = "result"

    def __init__(self, root: Path | None, version: str):
        self.cache = ParquetCache(root, version) if root is not None else None

    def _read(self, part: str) -> tuple[pl.DataFrame, ...] | None:
        """The frames stored as ``part`` (or ``part.00``, ``part.01`` …), or None when there are none or one
        cannot be read (then the caller computes everything)."""
        folder = self.cache.folder
        paths = sorted([*folder.glob(f"{self.NAME}.{part}.parquet"), *folder.glob(f"{self.NAME}.{part}.??.parquet")]
                       ) if folder.exists() else []
        try:
            return tuple(read_parquet_paths(p) for p in paths) or None
        except (OSError, pl.exceptions.PolarsError):
            return None

    def _store(self, parts: Mapping[str, pl.DataFrame]) -> None:
        """Store these parts and drop every other file of the memo (and other versions)."""
        for part, frame in parts.items():
            self.cache.store(self.NAME, frame, part=part)
        self.cache.prune({self.NAME})
        for path in self.cache.folder.glob(f"{self.NAME}.*.parquet"):
            if path.name[len(self.NAME) + 1:-len(".parquet")] not in parts:
                path.unlink(missing_ok=True)


class SameInputMemo(_Memo):
    """The stored result of ``fn(*inputs)`` (a tuple of frames) while the inputs stay the same."""

    def run(self, fn: Callable[..., tuple[pl.DataFrame, ...]], *inputs: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
        if self.cache is None:
            return fn(*inputs)
        key = hashlib.blake2b("|".join(frame_digest(f) for f in inputs).encode(), digest_size=16).hexdigest()
        # The frames count only once the marker written after them is there (a run may die between files).
        stored = self._read(key) if self.cache.path(self.NAME, f"{key}.complete").exists() else None
        if stored is None:
            stored = tuple(fn(*inputs))
            self._store({**{f"{key}.{i:02d}": frame for i, frame in enumerate(stored)},
                         f"{key}.complete": pl.DataFrame({"frames": [len(stored)]})})
        elif _verify():
            for got, fresh in zip(stored, fn(*inputs), strict=True):
                _check_same("memoized result", got, fresh)
        return stored


class PartitionMemo(_Memo):
    """``fn`` over the partitions (values of ``key``) whose input rows changed since the stored run.

    ``fn`` takes the input frames by name and returns one frame with a ``key`` column; its rows for a
    partition must depend on that partition's input rows alone (and on nothing else that the version
    does not cover). ``arrange`` puts the rows of unchanged and recomputed partitions together in the
    order ``fn`` gives when it computes them all."""

    def run(self, fn: Callable[..., pl.DataFrame], inputs: Mapping[str, pl.DataFrame], *, key: str,
            arrange: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
        if self.cache is None:
            return fn(**inputs)
        digests = pl.concat([_partition_digests(frame, key).with_columns(pl.lit(name).alias("input"))
                             for name, frame in inputs.items()])
        previous, before = self._read("digests"), self._read("output")
        if previous is None or before is None:
            result = fn(**inputs)
        else:
            # A partition changed when one input's rows of it differ, appeared or vanished.
            compared = digests.join(previous[0], on=["input", _PART], how="full", coalesce=True, suffix="_before")
            changed = compared.filter(pl.col("digest").ne_missing(pl.col("digest_before")))[_PART].unique()
            current = digests[_PART].unique()
            unchanged = current.filter(~current.is_in(changed.implode()))
            fresh = fn(**{name: frame.filter(_part_of(key).is_in(changed.implode())) for name, frame in inputs.items()})
            kept = before[0].filter(_part_of(key).is_in(unchanged.implode()))
            result = arrange(pl.concat([kept, fresh.cast(kept.schema)]))
            if _verify():
                _check_same("partition memo", result, fn(**inputs))
        # Digests last, and none while the output is replaced: a run dying between the two files must not
        # leave new digests beside an old output (the next run would keep that output's stale rows).
        self.cache.path(self.NAME, "digests").unlink(missing_ok=True)
        self._store({"output": result, "digests": digests})
        return result


def _part_of(key: str) -> pl.Expr:
    return pl.col(key).cast(pl.String).fill_null(_NULL_PART)


def _partition_digests(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per partition: its key and a digest of its rows in order."""
    return (
        frame.select(_part_of(key).alias(_PART), frame.hash_rows(seed=0).alias("_row"))
        .group_by(_PART).agg(pl.col("_row"))  # rows keep their order within a group
        .select(_PART, pl.col("_row").hash(seed=0).alias("digest"))
    )
