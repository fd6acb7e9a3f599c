"""The staging warehouse: one writer at a time, and current-state tables follow the schema."""

from __future__ import annotations

import os
import time

import duckdb
import pytest

from pipelines.lib.warehouse import STALE_AFTER_SECONDS, Warehouse, WarehouseBusy, scalar


def test_a_second_run_cannot_wipe_the_staging_copy_of_a_run_in_progress(tmp_path):
    first = Warehouse(tmp_path)
    first.begin("run-a")
    with first.connect() as con:
        con.execute("INSERT INTO rejected_row (run_id, reason) VALUES ('run-a', 'kept')")
    with pytest.raises(WarehouseBusy, match="run-a"):
        Warehouse(tmp_path).begin("run-b")
    with first.connect() as con:  # run-a's work is intact
        assert scalar(con, "SELECT count(*) FROM rejected_row") == 1
    first.begin("run-a")  # the same run may start over (a retried step)
    first.publish()
    Warehouse(tmp_path).begin("run-b")  # after the publish the next run proceeds


def test_a_staging_copy_left_by_a_dead_run_is_replaced(tmp_path):
    Warehouse(tmp_path).begin("dead-run")
    wh = Warehouse(tmp_path)
    old = time.time() - STALE_AFTER_SECONDS - 60
    for path in (wh.staging, wh.owner):
        os.utime(path, (old, old))
    wh.begin("next-run")
    assert "next-run" in wh.owner.read_text(encoding="utf-8")


def test_current_state_tables_are_rebuilt_from_the_schema(tmp_path):
    wh = Warehouse(tmp_path)
    wh.begin("r1")
    with wh.connect() as con:
        # A warehouse built by an older version: a table without a column the schema now has.
        con.execute("DROP TABLE document")
        con.execute("CREATE TABLE document (doc_id VARCHAR, file VARCHAR)")
        con.execute("INSERT INTO assessment (run_id, target_id, status) VALUES ('r1', 't1', 'on_track')")
    wh.publish()
    wh.begin("r2")
    with wh.connect() as con:
        columns = {r[0] for r in con.execute("DESCRIBE document").fetchall()}
        assert {"region_code", "doc_type", "period", "encoding"} <= columns
        assert scalar(con, "SELECT count(*) FROM assessment") == 1  # history survives
    wh.publish()
    with duckdb.connect(str(wh.published), read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM assessment") == 1
