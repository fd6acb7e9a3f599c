"""A folder of per-key parquet files, valid for one version of the code that produced them.

Entries live under ``root/<version>/<key>[.<part>].parquet``; the version is a hash of the source of a
pipelines.lib module and every pipelines.lib module it reaches by imports (plus whatever else the
caller's output depends on), so any change to that code starts a fresh folder. Files are written whole
and renamed into place, so parallel workers never see half a file; ``prune`` drops other versions and
keys no longer live. Used by the facts cache (lib/facts_cache.py) and the statistics reader.
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

LIB_PACKAGE = "pipelines.lib"
LIB_DIR = Path(__file__).resolve().parent


def cache_dir(warehouse_dir: Path, name: str) -> Path:
    """PLANWATCH_<NAME>_CACHE_DIR when set (e.g. a shared folder for workers on several machines),
    else <warehouse_dir>/cache/<name>."""
    configured = os.environ.get(f"PLANWATCH_{name.upper()}_CACHE_DIR")
    return Path(configured).resolve() if configured else Path(warehouse_dir) / "cache" / name


def read_parquet_paths(source: Path | list[Path], **options) -> pl.DataFrame:
    """Parquet file(s) read as the paths they are: never as glob patterns or hive folders (a warehouse or
    cache folder may have [, * or = in its name, and a step key such as chunk[0000] has brackets)."""
    return pl.read_parquet(source, glob=False, hive_partitioning=False, **options)


def _module_path(module: str) -> Path:
    return LIB_DIR / f"{module.rsplit('.', 1)[-1]}.py"


def _lib_imports(module: str) -> set[str]:
    """The pipelines.lib modules that ``module`` imports directly (absolute or relative imports)."""
    path = _module_path(module)
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
    return {m for m in found if _module_path(m).exists()}


def module_closure(root: str) -> list[str]:
    """``root`` (a pipelines.lib module) and every pipelines.lib module it reaches by imports."""
    seen, todo = set(), [root]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_lib_imports(module) - seen)
    return sorted(seen)


def code_digest(root: str, label: str):
    """A sha256 over ``label``, the polars version and the source of ``root``'s import closure; callers
    add what else their output depends on (reference tables, other libraries) and take the hexdigest."""
    digest = hashlib.sha256(f"{label}|polars {pl.__version__}".encode())
    for module in module_closure(root):
        digest.update(module.encode())
        digest.update(_module_path(module).read_bytes())
    return digest


@dataclass
class ParquetCache:
    """Per-key parquet files under ``root/<version>/``."""

    root: Path
    version: str
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.root) / self.version

    def path(self, key: str, part: str = "") -> Path:
        return self.folder / (f"{key}.{part}.parquet" if part else f"{key}.parquet")

    def store(self, key: str, frame: pl.DataFrame, part: str = "") -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        frame.write_parquet(partial)
        os.replace(partial, self.path(key, part))

    def prune(self, live_keys: set[str]) -> int:
        """Drop other versions and the entries (every part) of keys not in ``live_keys``; returns the
        files removed."""
        removed = 0
        if Path(self.root).exists():
            for other in Path(self.root).iterdir():
                if other != self.folder and other.is_dir():
                    removed += sum(1 for _ in other.glob("*.parquet"))
                    shutil.rmtree(other, ignore_errors=True)
        if self.folder.exists():
            for entry in self.folder.iterdir():
                if entry.suffix != ".parquet" or entry.name.split(".", 1)[0] not in live_keys:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed
