"""The analyst views (sql/views), created inside planwatch.duckdb, on a warehouse with known contents."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from warehouse_sample import JJ, RUN_2, ZJG, build_sample_warehouse

from pipelines.config import SQL_DIR
from pipelines.lib.warehouse import Warehouse

VIEWS = {"v_label", "v_latest_run", "v_target_status", "v_observation_chosen", "v_target_path", "v_shortfalls",
         "v_evaluation_table"}
PUBLISHED_SHAPE = ["类型", "指标", "单位", "基数", "目标值", "最新值", "完成进度", "时间进度", "属性", "状态"]


@pytest.fixture
def analyst(tmp_path):
    """What an analyst gets: a read-only connection to the published file."""
    wh = build_sample_warehouse(tmp_path)
    con = duckdb.connect(str(wh.published), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_views_are_inside_the_published_file(analyst):
    names = {r["view_name"] for r in rows(analyst, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert names == VIEWS


def test_target_status_has_each_target_once_with_its_latest_assessment_and_evidence(analyst):
    status = {r["target_id"]: r for r in rows(analyst, "SELECT * FROM v_target_status")}
    assert set(status) == {"t-rd", "t-pm25", "t-gdp", "t-growth", "t-annual", "t-rev", "t-fai", "t-area"}
    pm25 = status["t-pm25"]
    assert (pm25["status"], pm25["status_zh"], pm25["previous_status"]) == ("off_track", "滞后于序时进度", "on_track")
    assert (pm25["severity"], pm25["severity_zh"], pm25["run_id"]) == ("critical", "严重", RUN_2)
    assert (pm25["latest_year"], pm25["latest_value"], pm25["expected_value"]) == (2022, 34.0, 31.8)
    assert (pm25["baseline_value"], pm25["target_value"], pm25["comparator"]) == (33.0, 30.0, "<=")
    assert pm25["evidence"] == "细颗粒物(PM2.5)年均浓度控制在30微克/立方米以内。"
    assert (pm25["doc_file"], pm25["line"]) == ("zjg_14th.txt", 30)
    assert (pm25["region_name"], pm25["category_zh"], pm25["attribute"]) == ("张家港市", "绿色生态", "约束性")
    assert pm25["indicator_name"] == "细颗粒物(PM2.5)年均浓度" and pm25["direction"] == "lower_better"
    # An area outside the reference table keeps the name the plan gives it.
    area = status["t-area"]
    assert (area["region_code"], area["region_name"], area["unresolved"]) == (None, "中心城区", "region not in reference")
    # Missed in its target year: 未完成, not merely behind the path.
    annual = status["t-annual"]
    assert (annual["kind"], annual["status"], annual["status_zh"]) == ("annual_target", "off_track", "未完成")
    assert (status["t-rd"]["plan_name"], annual["plan_name"]) == ("十四五规划纲要", "2022年政府工作报告")


def test_observation_chosen_is_one_figure_per_region_indicator_year_with_its_source(analyst):
    chosen = rows(analyst, "SELECT * FROM v_observation_chosen")
    keys = [(r["region_code"], r["indicator_key"], r["year"], r["value_type"]) for r in chosen]
    assert len(keys) == len(set(keys)) == 12
    rd_2022 = next(r for r in chosen if r["indicator_key"] == "rd_expenditure_share_gdp" and r["year"] == 2022)
    # The bulletin beats the work report's estimate for the same year; both stay in the warehouse.
    assert (rd_2022["value"], rd_2022["source"], rd_2022["source_kind"]) == (3.5, "2022年统计公报", "bulletin")
    assert rd_2022["n_figures"] == 2


def test_shortfalls_are_the_latest_runs_off_track_and_at_risk_targets_most_severe_first(analyst):
    shortfalls = rows(analyst, "SELECT target_id, status, run_id, is_new FROM v_shortfalls")
    # t-gdp was at risk in the first run only: it is not a shortfall of the latest run.
    assert [(r["target_id"], r["status"], r["is_new"]) for r in shortfalls] == [
        ("t-pm25", "off_track", True), ("t-annual", "off_track", True), ("t-growth", "at_risk", True),
        ("t-fai", "at_risk", False)]
    assert {r["run_id"] for r in shortfalls} == {RUN_2}


def test_evaluation_table_has_the_published_shape_with_percentages(analyst):
    table = rows(analyst, "SELECT * FROM v_evaluation_table")
    columns = list(table[0])
    assert columns[:2] == ["region_code", "地区"]
    assert columns[2:12] == PUBLISHED_SHAPE
    assert [r["region_code"] for r in table] == [ZJG] * 5 + [JJ] * 2 + [None]
    assert table[-1]["地区"] == "中心城区"
    pm25 = next(r for r in table if r["target_id"] == "t-pm25")
    assert {k: pm25[k] for k in PUBLISHED_SHAPE} == {
        "类型": "绿色生态", "指标": "细颗粒物(PM2.5)年均浓度", "单位": "微克/立方米", "基数": 33.0, "目标值": 30.0,
        "最新值": 34.0, "完成进度": -33.3, "时间进度": 40.0, "属性": "约束性", "状态": "滞后于序时进度"}
    # Per plan (the five-year plan before the annual targets), grouped by 类型 in plan-table order.
    zjg = [(r["规划"], r["类型"]) for r in table if r["region_code"] == ZJG]
    assert zjg == [("十四五规划纲要", "经济发展"), ("十四五规划纲要", "经济发展"), ("十四五规划纲要", "创新驱动"),
                   ("十四五规划纲要", "绿色生态"), ("2022年政府工作报告", "创新驱动")]


def test_target_path_puts_the_plan_line_next_to_the_observations(analyst):
    path = {(r["target_id"], r["year"]): r for r in rows(analyst, "SELECT * FROM v_target_path")}
    assert path[("t-pm25", 2021)]["plan_value"] == pytest.approx(32.4)
    assert path[("t-pm25", 2022)]["observed_value"] == 34.0
    assert path[("t-pm25", 2025)]["plan_value"] == 30.0 and path[("t-pm25", 2025)]["observed_value"] is None
    # A cumulative target: the path runs from 0, the observations add up year by year.
    assert [path[("t-fai", y)]["observed_value"] for y in (2021, 2022)] == [280.0, 580.0]
    assert path[("t-fai", 2020)]["plan_value"] == 0 and path[("t-fai", 2022)]["plan_value"] == 600.0
    # A rate target: the yearly growth figures against the required rate.
    assert [(path[("t-growth", y)]["plan_value"], path[("t-growth", y)]["observed_value"]) for y in (2020, 2021, 2022)] == [
        (None, None), (6.0, 8.0), (6.0, 2.5)]
    # No baseline: no plan line, only the years up to the target.
    assert {r["plan_value"] for (t, _), r in path.items() if t == "t-rev"} == {None}


def test_views_answer_on_an_empty_warehouse(tmp_path):
    wh = Warehouse(tmp_path)
    wh.begin()
    with wh.connect() as con:
        assert set(wh.create_views(con)) == VIEWS
        for view in VIEWS - {"v_label"}:
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)], view


def test_create_views_drops_views_no_longer_defined(tmp_path):
    wh = Warehouse(tmp_path)
    wh.begin()
    with wh.connect() as con:
        con.execute("CREATE VIEW v_retired AS SELECT 1 AS x")
        assert "v_retired" not in wh.create_views(con)
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'v_retired'").fetchall() == [(0,)]


@pytest.mark.parametrize("example", sorted((SQL_DIR / "examples").glob("*.sql")), ids=lambda p: p.stem)
def test_example_queries_run_on_the_views(analyst, example: Path):
    result = analyst.execute(example.read_text(encoding="utf-8"))
    assert result.description, f"{example.name} returns no columns"
    assert result.fetchall(), f"{example.name} returns no rows on the sample warehouse"
