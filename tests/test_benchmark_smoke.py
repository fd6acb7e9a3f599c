"""The benchmark corpus generator at smoke size, and one pipeline run on what it writes."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from benchmarks.generate_corpus import generate
from pipelines.runner import run_once


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_generator_is_repeatable_and_a_smaller_corpus_is_a_prefix_of_a_larger(tmp_path):
    summary = generate(tmp_path / "a", 3, seed=7)
    generate(tmp_path / "b", 3, seed=7)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert summary["documents"] == 18 and summary["statistics_rows"] == 3 * 40 * 10

    generate(tmp_path / "c", 5, seed=7)
    small, large = files(tmp_path / "a" / "plans"), files(tmp_path / "c" / "plans")
    assert all(large[name] == content for name, content in small.items() if name != "manifest.csv")

    regions = pl.read_csv(tmp_path / "c" / "reference" / "regions.csv", infer_schema=False)
    counties = regions.filter(pl.col("level") == "county")
    assert counties.height == 5 and regions["name_zh"].n_unique() == regions.height
    assert counties["region_code"].str.contains(r"^\d{6}$").all()
    assert counties["parent_code"].is_in(regions["region_code"].implode()).all()


@pytest.fixture
def smoke_warehouse(tmp_path, monkeypatch):
    """A 3-region corpus wired in through the environment; returns the (empty) warehouse folder."""
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    generate(raw, 3, seed=2026)
    monkeypatch.setenv("PLANWATCH_RAW_DIR", str(raw))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE_DIR", str(warehouse))
    for name in ("PLANWATCH_SMTP_HOST", "PLANWATCH_EXECUTOR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    return warehouse


def test_the_pipeline_runs_on_a_smoke_corpus(smoke_warehouse):
    warehouse = smoke_warehouse

    result = run_once()
    assert result.success

    con = duckdb.connect(str(warehouse / "planwatch.duckdb"), read_only=True)
    try:
        count = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
        assert count("SELECT count(*) FROM document") == 18
        assert count("SELECT count(DISTINCT doc_id) FROM extracted_fact") >= 15
        assert count("SELECT count(*) FROM extracted_fact WHERE indicator_key = 'gdp'") > 0
        # The statistics files give 3 regions x 40 indicators x 10 years.
        assert count("SELECT count(*) FROM observation WHERE source_file LIKE 'stats_%' AND region_code IS NOT NULL") >= 1000
        assert count("SELECT count(*) FROM target") > 0
    finally:
        con.close()


def test_history_padding_adds_earlier_nights_and_the_next_run_stands_on_them(smoke_warehouse):
    from benchmarks.run_benchmarks import add_history

    warehouse = smoke_warehouse
    assert run_once().success

    def count(sql):
        with duckdb.connect(str(warehouse / "planwatch.duckdb"), read_only=True) as con:
            return con.execute(sql).fetchall()[0]

    first_run, assessed = count("SELECT run_id, n_assessments FROM v_latest_run")
    add_history(warehouse, 3)
    assert count("SELECT count(DISTINCT run_id), count(*) FROM assessment") == (4, 4 * assessed)
    assert count("SELECT run_id FROM v_latest_run")[0] == first_run  # the padding is older than the run
    assert count("SELECT count(*) FROM assessment WHERE run_id = 'history-003' "
                 "AND assessed_at < (SELECT assessed_at FROM v_latest_run) - INTERVAL 2 DAY")[0] == assessed

    assert run_once().success
    assert count("SELECT count(DISTINCT run_id) FROM assessment")[0] == 5
