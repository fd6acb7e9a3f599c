"""Where Planwatch reads and writes. Every path comes from here, so that
PLANWATCH_RAW_DIR and PLANWATCH_WAREHOUSE_DIR are honoured everywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
WAREHOUSE_FILE = "planwatch.duckdb"


def _anchor(path: Path) -> Path:
    return path if path.is_absolute() else path.resolve()


def _env_path(name: str, default: str) -> Path:
    # A value the operator sets is read from the working directory, like any CLI path;
    # the defaults live in the repository whatever the working directory is.
    value = os.environ.get(name)
    return _anchor(Path(value)) if value else REPO_ROOT / default


@dataclass(frozen=True)
class Paths:
    raw_dir: Path
    warehouse_dir: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(
            raw_dir=_env_path("PLANWATCH_RAW_DIR", "data/raw"),
            warehouse_dir=_env_path("PLANWATCH_WAREHOUSE_DIR", "data/warehouse"),
        )

    @classmethod
    def from_dirs(cls, raw_dir: str | Path, warehouse_dir: str | Path) -> Paths:
        return cls(raw_dir=_anchor(Path(raw_dir)), warehouse_dir=_anchor(Path(warehouse_dir)))

    @property
    def plans_dir(self) -> Path:
        return self.raw_dir / "plans"

    @property
    def manifest(self) -> Path:
        return self.plans_dir / "manifest.csv"

    @property
    def statistics_dir(self) -> Path:
        return self.raw_dir / "statistics"

    @property
    def reference_dir(self) -> Path:
        return self.raw_dir / "reference"

    @property
    def indicator_catalog(self) -> Path:
        return self.reference_dir / "indicators.csv"

    @property
    def regions(self) -> Path:
        return self.reference_dir / "regions.csv"

    @property
    def alert_routing(self) -> Path:
        return self.raw_dir / "alert_routing.csv"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / WAREHOUSE_FILE

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.warehouse_dir / "outbox"

    @property
    def data_docs_dir(self) -> Path:
        return self.warehouse_dir / "data_docs"
