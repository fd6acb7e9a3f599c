"""The run's report: a static HTML page that renders offline in a real Chromium, and .xlsx tables."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from bs4 import BeautifulSoup
from warehouse_sample import JJ, RUN_2, ZJG, build_sample_warehouse

from pipelines.lib.report import build_report, chart_geometry, chart_svg, region_page_name, workbook_name
from pipelines.lib.warehouse import Warehouse

CHROMIUM = Path("/usr/bin/chromium")
HEADER = ["类型", "指标", "单位", "基数", "目标值", "最新值", "完成进度", "时间进度", "属性", "状态",
          "基数年份", "目标年份", "最新值年份"]


@pytest.fixture
def report(tmp_path):
    """The sample warehouse's report, built inside the run (from the staging file) as the asset does."""
    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    reports = tmp_path / "warehouse" / "reports"
    reports.mkdir()
    (reports / "999999.xlsx").write_bytes(b"last run's table of a region that has no targets now")
    (reports / "999999.html").write_bytes(b"last run's page of that region")
    (reports / "my notes.xlsx").write_bytes(b"an analyst's own file")
    with wh.connect() as con:
        files = build_report(con, reports, run_id=RUN_2)
    return files


def test_report_writes_the_page_and_one_workbook_per_region(report):
    assert set(report) == {"html", f"xlsx:{ZJG}", f"xlsx:{JJ}"}
    assert report[f"xlsx:{ZJG}"].name == workbook_name(ZJG) == f"{ZJG}.xlsx"
    folder = report["html"].parent
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted([
        "index.html", f"{ZJG}.html", f"{ZJG}.xlsx", f"{JJ}.html", f"{JJ}.xlsx", "unknown.html", "my notes.xlsx"])
    assert region_page_name(ZJG) == f"{ZJG}.html"


def test_only_regions_whose_rows_changed_are_written_again(tmp_path):
    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    reports = tmp_path / "reports"
    with wh.connect() as con:
        first = build_report(con, reports, run_id="run-a")
        con.execute("UPDATE target SET evidence = evidence || '（修订）' WHERE target_id = 't-pm25'")
        second = build_report(con, reports, run_id="run-b")
    assert second == first
    # The index is every run's; a region page and workbook only when what they show changed.
    assert "run-b" in (reports / "index.html").read_text(encoding="utf-8")
    assert "run-b" in (reports / f"{ZJG}.html").read_text(encoding="utf-8")  # t-pm25 is Zhangjiagang's
    assert "（修订）" in (reports / f"{ZJG}.html").read_text(encoding="utf-8")
    assert "run-a" in (reports / f"{JJ}.html").read_text(encoding="utf-8")
    workbook = openpyxl.load_workbook(reports / f"{JJ}.xlsx").active
    assert "run-a" in workbook["A2"].value  # its rows did not change: not rewritten
    # A page deleted by hand is written again even though its rows did not change.
    (reports / f"{JJ}.html").unlink()
    with wh.connect() as con:
        build_report(con, reports, run_id="run-c")
    assert "run-c" in (reports / f"{JJ}.html").read_text(encoding="utf-8")


def test_worker_processes_write_the_same_files_as_one_process(tmp_path, monkeypatch):
    """Regions drawn by two spawned workers, one region per batch: the same pages and tables."""
    import pipelines.lib.report as report_module

    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    monkeypatch.setattr(report_module, "REGIONS_PER_BATCH", 1)  # three batches, so the pool is used
    with wh.connect() as con:
        alone = build_report(con, tmp_path / "one", run_id=RUN_2)
        pooled = build_report(con, tmp_path / "two", run_id=RUN_2, processes=2)
    assert {k: p.name for k, p in alone.items()} == {k: p.name for k, p in pooled.items()}
    for page in (f"{ZJG}.html", f"{JJ}.html", "unknown.html"):
        ids = [BeautifulSoup((folder / page).read_text(encoding="utf-8"), "html.parser").select("article[id]")
               for folder in (tmp_path / "one", tmp_path / "two")]
        assert [a["id"] for a in ids[0]] == [a["id"] for a in ids[1]] != []
    for code in (ZJG, JJ):
        sheets = [openpyxl.load_workbook(folder / workbook_name(code)) for folder in (tmp_path / "one", tmp_path / "two")]
        assert [[list(r) for r in ws.iter_rows(min_row=4, values_only=True)] for ws in sheets[0]] == \
               [[list(r) for r in ws.iter_rows(min_row=4, values_only=True)] for ws in sheets[1]]


def test_a_failing_worker_fails_the_report(tmp_path, monkeypatch):
    import pipelines.lib.report as report_module

    wh = build_sample_warehouse(tmp_path / "warehouse", publish=False)
    monkeypatch.setattr(report_module, "REGIONS_PER_BATCH", 1)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / workbook_name(JJ)).mkdir()  # a folder where the workbook must go: the worker cannot write it
    with wh.connect() as con, pytest.raises(OSError):
        build_report(con, reports, run_id=RUN_2, processes=2)


def test_workbook_holds_the_regions_evaluation_table_one_sheet_per_plan(report):
    workbook = openpyxl.load_workbook(report[f"xlsx:{ZJG}"])
    assert workbook.sheetnames == ["十四五规划纲要", "2022年政府工作报告"]
    sheet = workbook["十四五规划纲要"]
    assert sheet["A1"].value == "张家港市十四五规划纲要主要指标完成情况表"
    table = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]
    assert table[0] == HEADER
    body = {row[1]: dict(zip(HEADER, row, strict=True)) for row in table[1:]}
    assert set(body) == {"地区生产总值", "地区生产总值增长", "全社会研发经费支出占地区生产总值比重", "细颗粒物(PM2.5)年均浓度"}
    pm25 = body["细颗粒物(PM2.5)年均浓度"]
    assert (pm25["类型"], pm25["单位"], pm25["属性"], pm25["状态"]) == ("绿色生态", "微克/立方米", "约束性", "滞后于序时进度")
    assert (pm25["基数"], pm25["目标值"], pm25["最新值"], pm25["目标年份"]) == (33, 30, 34, 2025)
    # Progress is a real Excel percentage: -0.333 shown as -33.3%.
    assert pm25["完成进度"] == pytest.approx(-0.333) and pm25["时间进度"] == pytest.approx(0.4)
    progress_cell = next(row[6] for row in sheet.iter_rows(min_row=5) if row[1].value == "细颗粒物(PM2.5)年均浓度")
    assert progress_cell.number_format == "0.0%"
    annual = [row for row in workbook["2022年政府工作报告"].iter_rows(min_row=5, values_only=True)]
    assert [(r[1], r[5], r[9]) for r in annual] == [("全社会研发经费支出占地区生产总值比重", 3.5, "未完成")]

    other = openpyxl.load_workbook(report[f"xlsx:{JJ}"]).active
    assert [row[1] for row in other.iter_rows(min_row=5, values_only=True)] == [
        "一般公共预算收入", "全社会固定资产投资"]


def test_pages_are_self_contained(report):
    folder = report["html"].parent
    for page in ["index.html", f"{ZJG}.html", f"{JJ}.html", "unknown.html"]:
        html = (folder / page).read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert "http://" not in html and "https://" not in html and "url(" not in html and "@import" not in html
    index = BeautifulSoup(report["html"].read_text(encoding="utf-8"), "html.parser")
    assert [a["href"] for a in index.select("a[href$='.xlsx']")] == [f"{ZJG}.xlsx", f"{JJ}.xlsx"]
    # index.html#r-<code> still lands on the region, whose row links to its page.
    assert index.select_one(f"#r-{ZJG} a")["href"] == f"{ZJG}.html"
    assert index.select_one("#r-unknown a")["href"] == "unknown.html"
    page = BeautifulSoup((folder / f"{ZJG}.html").read_text(encoding="utf-8"), "html.parser")
    assert page.select_one("#t-t-pm25 .badge").get_text() == "滞后于序时进度"
    assert page.select_one("a[href$='.xlsx']")["href"] == f"{ZJG}.xlsx"
    assert page.select_one("nav a")["href"] == f"index.html#r-{ZJG}"


def test_chart_places_target_and_observations_on_the_right_spots(tmp_path):
    wh = build_sample_warehouse(tmp_path, publish=False)
    with wh.connect() as con:
        geometry = chart_geometry(con.sql("SELECT * FROM v_target_status").pl(), con.sql("SELECT * FROM v_target_path").pl())

    def marks(target_id: str, series: str) -> list[dict]:
        return geometry.filter(pl.col("target_id") == target_id, pl.col("series") == series).to_dicts()

    # PM2.5's target (30 in 2025) is its lowest value in its last year: bottom right of the plot.
    (target,) = marks("t-pm25", "target")
    assert (target["x"], target["y"]) == (540.0, 226.0)
    # 2022's 34 is the highest: it sits above the others, years run left to right.
    observed = marks("t-pm25", "observed")
    assert [p["year"] for p in observed] == [2020, 2021, 2022]
    assert observed[2]["y"] < observed[0]["y"] < observed[1]["y"]
    assert observed[0]["x"] < observed[1]["x"] < observed[2]["x"]
    assert [t["value"] for t in marks("t-pm25", "y_tick")] == [30.0, 31.0, 32.0, 33.0, 34.0]
    # No observation at all: the chart still has the target, and axes around it.
    assert marks("t-rev", "observed") == [] and len(marks("t-rev", "target")) == 1
    assert len(marks("t-rev", "y_tick")) > 1


def test_chart_markup_escapes_the_texts_it_shows():
    targets = pl.DataFrame({"target_id": ["t1"], "indicator_name": ["A<B"], "unit": ["%&"], "target_year": [2025],
                            "target_value": [10.0], "baseline_year": [2020], "baseline_value": [5.0],
                            "latest_year": [None], "latest_value": [None]})
    path = pl.DataFrame({"target_id": ["t1", "t1"], "year": [2020, 2021], "plan_value": [5.0, 6.0],
                         "observed_value": [None, 6.5], "observed_source": [None, '年鉴"<2022>"']})
    (svg,) = chart_svg(chart_geometry(targets, path), targets)["chart"]
    assert 'aria-label="A&lt;B：' in svg and "单位：%&amp;" in svg
    assert "<title>2021年 6.5%&amp;（年鉴&#34;&lt;2022&gt;&#34;）</title>" in svg
    assert "<title>目标值：2025年 10%&amp;</title>" in svg
    assert 'points="64.0,' in svg  # the plan path starts at the left edge of the plot


def test_report_of_a_run_without_targets(tmp_path):
    wh = Warehouse(tmp_path)
    wh.begin()
    with wh.connect() as con:
        wh.create_views(con)
        files = build_report(con, tmp_path / "reports", run_id="empty-run")
    assert set(files) == {"html"}
    assert "本次运行没有可评估的指标" in files["html"].read_text(encoding="utf-8")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2000", *args],
        capture_output=True, text=True, timeout=180, check=True,
    )


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/install-chromium.sh)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    folder = report["html"].parent
    for page in ("index.html", f"{ZJG}.html"):
        shot = tmp_path / f"{page}.png"
        chromium(tmp_path, f"--screenshot={shot}", (folder / page).as_uri())
        png = shot.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (1280, 2000)
        shutil.copy(shot, folder.parent / f"report-{page}.png")  # kept next to the report for a look

    def dom(page: str) -> BeautifulSoup:
        return BeautifulSoup(chromium(tmp_path, "--dump-dom", (folder / page).as_uri()).stdout, "html.parser")

    index = dom("index.html")
    assert len(index.select("svg.bar rect")) == 3 + 2 + 1  # overview bars: a segment per status present
    overview = index.select("table.overview tbody tr")
    assert [tr.td.get_text() for tr in overview] == ["张家港市", "椒江区", "地区参考表以外的地区", "合计"]
    pages = [dom(f"{code}.html") for code in (ZJG, JJ, "unknown")]

    def count(selector: str) -> list[int]:
        return [len(page.select(selector)) for page in pages]

    assert count("svg.chart") == [5, 2, 1]  # one chart per target
    # Drawn marks are the charts' own children (the legend's samples sit in g.legend).
    assert sum(count("svg.chart > polyline.observed")) == 6  # every target with observations
    assert sum(count("svg.chart > circle.obs-point")) == 14  # every figure of their series
    assert sum(count("svg.chart > polyline.plan-path")) == 6  # every target with a base year and value
    assert sum(count("svg.chart > polygon.target-mark")) == 8  # every target
    assert sum(count("svg.chart > circle.latest-point")) == 6  # every value a status was judged on
    assert [len(page.select("table.evaluation tbody tr:not(.plan)")) for page in pages] == [5, 2, 1]
    assert [th.get_text() for th in pages[0].select("table.evaluation tr.plan th")] == ["十四五规划纲要", "2022年政府工作报告"]
    assert "规划路径" in pages[0].select_one("svg.chart").get_text()
    assert pages[0].select_one("h1").get_text() == f"张家港市（{ZJG}）"
