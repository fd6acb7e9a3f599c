"""Which region files a report run rewrites: exactly those whose page or workbook shows something new.

Each case changes one base table the views read (a real DuckDB staging file) and checks which files were
written again, by inode and content: the rest must be left as they were.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from warehouse_sample import JJ, RUN_2, ZJG, assessments, build_sample_warehouse

import pipelines.lib.report as report_module
from pipelines.lib.report import STATE_FILE, build_report
from pipelines.lib.warehouse import Warehouse

REGION_FILES = (f"{ZJG}.html", f"{ZJG}.xlsx", f"{JJ}.html", f"{JJ}.xlsx", "unknown.html")
# The tables the report's views read; the report's digest of a region's inputs covers each of them.
DIGESTED_TABLES = {"target", "assessment", "document", "region", "indicator", "observation"}


@pytest.fixture
def drawn(tmp_path) -> tuple[Warehouse, Path]:
    """The sample warehouse (the run's staging file) with its report already drawn once."""
    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    reports = tmp_path / "reports"
    with wh.connect() as con:
        build_report(con, reports, run_id="run-a")
    return wh, reports


def files(reports: Path) -> dict[str, tuple[int, bytes]]:
    return {name: ((reports / name).stat().st_ino, (reports / name).read_bytes()) for name in REGION_FILES}


def redraw_after(wh: Warehouse, reports: Path, *changes: str) -> set[str]:
    """Apply ``changes`` (SQL) to the staging file, report again; the region files written anew."""
    before = files(reports)
    with wh.connect() as con:
        for sql in changes:
            con.execute(sql)
        build_report(con, reports, run_id="run-b")
    after = files(reports)
    return {name for name in REGION_FILES if after[name] != before[name]}


def a_new_run(wh: Warehouse, run_id: str, assessed_at: datetime, *,
              latest_value: dict[str, float] | None = None) -> None:
    """Another run's assessments: RUN_2's, with that run id and time (and these latest values)."""
    frame = assessments(RUN_2).with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(assessed_at).alias("assessed_at"),
        pl.col("target_id").replace_strict(latest_value or {}, default=pl.col("latest_value"),
                                           return_dtype=pl.Float64).alias("latest_value"))
    with wh.connect() as con:
        wh.append_rows(con, "assessment", frame)


@pytest.mark.parametrize(("change", "redrawn"), [
    # The evidence sentence is on the page's card, not in the workbook.
    ("UPDATE target SET evidence = evidence || '（修订）' WHERE target_id = 't-pm25'", {f"{ZJG}.html"}),
    ("UPDATE target SET evidence = evidence || '（修订）' WHERE target_id = 't-area'", {"unknown.html"}),
    # A chosen figure moves JJ's chart; its table shows the assessed latest value, which did not change.
    # Two rows changing alike (both figures' source; both targets' plan title below) must not cancel out.
    (f"UPDATE observation SET source = '统计年鉴' WHERE region_code = '{ZJG}' AND indicator_key = 'gdp'",
     {f"{ZJG}.html"}),
    (f"UPDATE observation SET value = 290 WHERE region_code = '{JJ}' AND year = 2021", {f"{JJ}.html"}),
    # The plan's title is on the cards; the table names the plan by period and type.
    ("UPDATE document SET title = title || '（修订稿）' WHERE doc_id = 'd-jj'", {f"{JJ}.html"}),
    (f"UPDATE region SET name_zh = '椒江' WHERE region_code = '{JJ}'", {f"{JJ}.html", f"{JJ}.xlsx"}),
    ("UPDATE indicator SET name_zh = '固定资产投资额' WHERE indicator_key = 'fixed_asset_investment'",
     {f"{JJ}.html", f"{JJ}.xlsx"}),
    # Not shown anywhere: when the documents were loaded, a figure nobody chose.
    ("UPDATE document SET loaded_at = TIMESTAMP '2030-01-01'", set()),
    (f"UPDATE observation SET value = 1 WHERE region_code = '{ZJG}' AND NOT is_chosen", set()),
])
def test_a_change_redraws_the_files_that_show_it_and_no_other(drawn, change, redrawn):
    wh, reports = drawn
    assert redraw_after(wh, reports, change) == redrawn


def test_a_new_assessment_redraws_the_regions_whose_numbers_changed(drawn):
    wh, reports = drawn
    # The same verdicts again: only run id and time differ, which no region file shows.
    a_new_run(wh, "run-3", datetime(2024, 3, 31, 2, 0))
    assert redraw_after(wh, reports) == set()
    assert "run-a" in (reports / f"{JJ}.html").read_text(encoding="utf-8")
    a_new_run(wh, "run-4", datetime(2024, 4, 30, 2, 0), latest_value={"t-fai": 600.0})
    assert redraw_after(wh, reports) == {f"{JJ}.html", f"{JJ}.xlsx"}
    assert "600" in (reports / f"{JJ}.html").read_text(encoding="utf-8")


def test_regions_read_one_by_one_or_all_at_once_give_the_same_hashes(tmp_path, monkeypatch):
    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    with wh.connect() as con:
        build_report(con, tmp_path / "one_by_one", run_id=RUN_2)
        monkeypatch.setattr(report_module, "FEW_REGIONS", 0)
        build_report(con, tmp_path / "all_at_once", run_id=RUN_2)
    states = [json.loads((tmp_path / folder / STATE_FILE).read_text(encoding="utf-8"))
              for folder in ("one_by_one", "all_at_once")]
    assert states[0] == states[1]
    assert set(states[0]) == {ZJG, JJ, "unknown"}


def test_a_report_stopped_halfway_leaves_no_hash_for_the_files_it_was_rewriting(drawn):
    wh, reports = drawn
    workbook = reports / f"{JJ}.xlsx"
    workbook.unlink()
    workbook.mkdir()  # the workbook cannot be written: the run stops while drawing JJ
    with wh.connect() as con:
        con.execute(f"UPDATE region SET name_zh = '椒江' WHERE region_code = '{JJ}'")
        with pytest.raises(OSError):
            build_report(con, reports, run_id="run-b")
    assert JJ not in json.loads((reports / STATE_FILE).read_text(encoding="utf-8"))
    workbook.rmdir()
    with wh.connect() as con:
        build_report(con, reports, run_id="run-c")
    assert "run-c" in (reports / f"{JJ}.html").read_text(encoding="utf-8")
    assert "椒江" in (reports / f"{JJ}.html").read_text(encoding="utf-8")


def test_the_views_of_the_report_read_only_tables_the_digest_covers(drawn):
    """A view that starts reading another table must have that table added to the report's digest
    (report._regions), or a change there would not redraw the pages that show it."""
    wh, _ = drawn
    with wh.connect() as con:
        scanned = set().union(*(_scanned_tables(con, f"SELECT * FROM {view}")
                                for view in ("v_target_status", "v_target_path", "v_evaluation_table")))
    assert scanned == DIGESTED_TABLES


def _scanned_tables(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    (_, plan), = con.execute(f"EXPLAIN (FORMAT json) {sql}").fetchall()
    found: set[str] = set()

    def walk(node: dict) -> None:
        table = node.get("extra_info", {}).get("Table")
        if table:
            found.add(table.rsplit(".", 1)[-1].strip('"'))
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(plan):
        walk(node)
    return found
