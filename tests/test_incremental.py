"""A nightly run with every cache warm (the document index, the facts snapshot, the statistics cache, the
validation memo, the report state) gives the warehouse a run from nothing gives on the same inputs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks.generate_corpus import generate
from benchmarks.run_benchmarks import change_one_document
from pipelines.runner import run_once

# What one run stands on: the current tables whole, the history tables' rows of the latest run.
LATEST_RUN = "(SELECT run_id FROM v_latest_run)"
COMPARED = {
    "document": "SELECT * EXCLUDE (loaded_at) FROM document",
    "extracted_fact": "SELECT * FROM extracted_fact",
    "target": "SELECT * FROM target",
    "observation": "SELECT * EXCLUDE (loaded_at, run_id) FROM observation WHERE is_chosen",
    "assessment": f"SELECT * EXCLUDE (run_id, assessed_at) FROM assessment WHERE run_id = {LATEST_RUN}",
    "validation_issue": f"SELECT * EXCLUDE (run_id, found_at) FROM validation_issue WHERE run_id = {LATEST_RUN}",
    "rejected_row": f"SELECT * EXCLUDE (run_id, rejected_at) FROM rejected_row WHERE run_id = {LATEST_RUN}",
}


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse / "planwatch.duckdb"), read_only=True) as con:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in COMPARED.items()}


def run(raw: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWATCH_RAW_DIR", str(raw))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE_DIR", str(warehouse))
    assert run_once().success


def test_a_run_on_warm_caches_equals_a_run_from_nothing(tmp_path, monkeypatch):
    for name in ("PLANWATCH_SMTP_HOST", "PLANWATCH_EXECUTOR", "DAGSTER_HOME", "PLANWATCH_FACTS_CACHE_DIR",
                 "PLANWATCH_STATISTICS_CACHE_DIR", "PLANWATCH_DOCUMENTS_CACHE_DIR", "PLANWATCH_VALIDATION_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    raw, warm, cold = tmp_path / "raw", tmp_path / "warm", tmp_path / "cold"
    generate(raw, 3, seed=2026)
    # A figure ten times too large: GX finds the year-over-year jumps (issues that must survive the memo).
    statistics = sorted((raw / "statistics").glob("*.csv"))[0]
    frame = pl.read_csv(statistics, infer_schema=False)
    jump = (pl.col("indicator_key") == "hospital_beds") & (pl.col("year") == "2019")
    frame.with_columns(pl.when(jump).then(pl.col("value").cast(pl.Float64) * 10).otherwise(pl.col("value").cast(
        pl.Float64)).alias("value")).write_csv(statistics)
    run(raw, warm, monkeypatch)
    before = tables(warm)

    # One plan gains a target; one statistics file loses its last row.
    changed, _ = change_one_document(raw)
    statistics.write_text("".join(statistics.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]),
                          encoding="utf-8")
    run(raw, warm, monkeypatch)
    run(raw, cold, monkeypatch)

    incremental, from_nothing = tables(warm), tables(cold)
    for name in COMPARED:
        assert incremental[name] == from_nothing[name], name
    assert incremental["target"] != before["target"] and incremental["observation"] != before["observation"]
    assert len(incremental["validation_issue"]) > 0 and len(incremental["rejected_row"]) > 0  # kept, not memoized away
    # The caches did their part: the second run read one plan file and judged few rows again.
    assert len(list((warm / "cache" / "facts").rglob("snapshot.parquet"))) == 1
    assert changed.name in {row[1] for row in incremental["document"]}
