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


def test_each_load_keeps_every_value_seen_and_marks_only_this_runs_choice(tmp_path):
    """Observations are history: a revised value is a new row, never an overwrite; is_chosen follows the
    latest run's precedence decision (a flag flips both ways, a figure the run no longer has is unchosen)."""
    from datetime import datetime

    import polars as pl

    from pipelines.lib.loading import load_observations
    from pipelines.lib.observations import OBSERVATION_SCHEMA

    wh = Warehouse(tmp_path)
    wh.begin("run-1")

    def row(source: str, value: float, chosen: bool) -> dict:
        return {"region_code": "320582", "indicator_key": "gdp", "year": 2022, "value": value, "unit": "亿元",
                "value_type": "level", "source": source, "source_kind": "statistics_file", "source_rank": 1,
                "source_file": f"{source}.csv", "location": "row 2", "is_chosen": chosen}

    def load(run_id: str, *rows: dict) -> tuple[int, list[tuple]]:
        with wh.connect() as con:
            added = load_observations(wh, con, pl.DataFrame(list(rows), schema=OBSERVATION_SCHEMA), run_id=run_id,
                                      loaded_at=datetime(2026, 1, 1))
            return added, con.execute("SELECT source, value, is_chosen, run_id FROM observation ORDER BY ALL").fetchall()

    assert load("run-1", row("年鉴", 100.0, True), row("公报", 99.0, False)) == (2, [
        ("公报", 99.0, False, "run-1"), ("年鉴", 100.0, True, "run-1")])
    # The yearbook is revised and the bulletin now wins: one new row, both old ones kept, flags moved.
    assert load("run-2", row("年鉴", 101.0, False), row("公报", 99.0, True)) == (1, [
        ("公报", 99.0, True, "run-1"), ("年鉴", 100.0, False, "run-1"), ("年鉴", 101.0, False, "run-2")])
    # Nothing of these any more: every flag off, nothing deleted.
    assert load("run-3") == (0, [
        ("公报", 99.0, False, "run-1"), ("年鉴", 100.0, False, "run-1"), ("年鉴", 101.0, False, "run-2")])
