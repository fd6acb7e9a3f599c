"""The DuckDB warehouse: built in a staging file during a run, then swapped in whole.

Analysts hold read-only connections to ``planwatch.duckdb`` at any hour. DuckDB lets
one process write *or* many read, so a run never writes the published file: it copies
it to a staging file, writes there, and publishes with an atomic ``os.replace``.
A reader that is open during the swap keeps seeing the previous complete file; the
next one it opens is the new complete file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import SQL_DIR, WAREHOUSE_FILE

STAGING_FILE = ".planwatch.staging.duckdb"
STAGING_OWNER = ".planwatch.staging.owner"  # which run builds the staging file, since when
# A staging file untouched for this long belongs to a run that died; a newer one to a run in progress.
STALE_AFTER_SECONDS = 2 * 3600


class WarehouseBusy(RuntimeError):
    """Another run is building the warehouse; runs are one at a time (one DuckDB writer)."""
# Tables rebuilt from inputs on every run; the others keep history across runs.
CURRENT_TABLES = ("region", "indicator", "document", "extracted_fact", "target")
HISTORY_TABLES = ("observation", "assessment", "alert", "rejected_row", "validation_issue")
ANALYST_VIEWS_SQL = ("SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
                     "AND view_name LIKE 'v\\_%' ESCAPE '\\' ORDER BY view_name")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """First value of a query. Uses fetchall: DuckDB 2 keeps a result open after fetchone(),
    and an open result makes the next unregister() on the connection fail."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


class Warehouse:
    def __init__(self, warehouse_dir: Path | str):
        self.dir = Path(warehouse_dir)
        self.published = self.dir / WAREHOUSE_FILE
        self.staging = self.dir / STAGING_FILE
        self.owner = self.dir / STAGING_OWNER

    def begin(self, run_id: str = "") -> None:
        """Start a run's staging copy from the last published warehouse (or from nothing).

        Refuses (WarehouseBusy) while another run's staging copy is fresh, so that a second writer
        (``planwatch run`` during the nightly run) cannot wipe it; a copy left by a dead run is replaced.
        The current-state tables are dropped and recreated from sql/schema.sql, so a column added
        to them reaches warehouses built before it; history tables only ever gain columns.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        self._claim(run_id)
        for stale in (self.staging, Path(f"{self.staging}.wal")):
            stale.unlink(missing_ok=True)
        if self.published.exists():
            _copy_file(self.published, self.staging)
        with self.connect() as con:
            for table in CURRENT_TABLES:
                con.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
            con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))

    def _claim(self, run_id: str) -> None:
        if self.owner.exists() and self.staging.exists():
            holder = json.loads(self.owner.read_text(encoding="utf-8") or "{}")
            age = time.time() - max(self.staging.stat().st_mtime, self.owner.stat().st_mtime)
            if holder.get("run_id") != run_id and age < STALE_AFTER_SECONDS:
                raise WarehouseBusy(
                    f"run {holder.get('run_id')!r} (pid {holder.get('pid')}) is building {self.staging} "
                    f"(last written {age:.0f} s ago); runs are one at a time — wait for it, or delete "
                    f"{self.owner.name} if that run is dead")
        self.owner.write_text(json.dumps({"run_id": run_id, "pid": os.getpid(), "since": time.time()}),
                              encoding="utf-8")

    @contextmanager
    def connect(self, *, staging: bool = True, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.staging if staging else self.published
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def replace_rows(self, con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
        """Delete every row of ``table`` and insert ``frame`` by column name."""
        con.execute(f"DELETE FROM {table}")
        return self.append_rows(con, table, frame)

    @staticmethod
    def append_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
        if frame.height == 0:
            return 0
        con.register("_incoming", frame.to_arrow())
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
        finally:
            con.unregister("_incoming")
        return frame.height

    def create_views(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """(Re)create the analyst views of sql/views/*.sql inside the warehouse file; returns their names.

        The files run in name order (a view may use the views of earlier files). Views of earlier
        runs are dropped first, so a view removed from sql/views/ does not linger in the copy.
        """
        for (name,) in con.execute(ANALYST_VIEWS_SQL).fetchall():
            con.execute(f'DROP VIEW IF EXISTS "{name}"')
        for sql_file in sorted((SQL_DIR / "views").glob("*.sql")):
            con.execute(sql_file.read_text(encoding="utf-8"))
        return [name for (name,) in con.execute(ANALYST_VIEWS_SQL).fetchall()]

    def publish(self) -> Path:
        """Swap the staging file in as the published warehouse, atomically.

        Readers holding the old file keep reading it (its inode lives on until they close); every
        connection opened after the rename gets the new file. Nothing is ever written to the
        published path in place, so a read-only connection held through the run cannot block it.
        """
        with self.connect() as con:
            con.execute("CHECKPOINT")
        # Opening read-only in this process fails while any other connection to the staging file is
        # still open here (DuckDB refuses a second configuration), and it proves the file is whole:
        # never swap in a file that a leaked writer could still change, or that does not open.
        try:
            with self.connect(read_only=True) as con:
                scalar(con, "SELECT count(*) FROM assessment")
        except duckdb.Error as exc:
            raise RuntimeError(f"staging warehouse {self.staging} is not ready to publish: {exc}") from exc
        os.replace(self.staging, self.published)
        self.owner.unlink(missing_ok=True)
        _fsync_dir(self.dir)
        return self.published


def _copy_file(source: Path, target: Path) -> None:
    """Copy in the kernel with copy_file_range (the warehouse file grows with the history: 1.2 GB took 0.8 s
    with shutil's sendfile, 0.4 s so); shutil where the kernel or the filesystems cannot."""
    try:
        with open(source, "rb") as src, open(target, "wb") as dst:
            remaining = os.fstat(src.fileno()).st_size
            while remaining > 0:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), remaining)
                if copied == 0:
                    raise OSError("copy_file_range copied nothing")
                remaining -= copied
    except (OSError, AttributeError):
        shutil.copyfile(source, target)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (the file's bytes were synced by DuckDB's checkpoint)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
