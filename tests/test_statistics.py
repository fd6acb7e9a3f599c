"""Reading statistics files: every layout and encoding, and every kind of file that cannot be read."""

from __future__ import annotations

import random
import shutil
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from pipelines.lib.documents import DOCUMENT_SCHEMA
from pipelines.lib.extraction import FACT_SCHEMA
from pipelines.lib.observations import build_observations
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.statistics import RAW_STAT_SCHEMA, read_statistics

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"
REPO_RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
CATALOG = load_catalog(REPO_RAW / "reference" / "indicators.csv")
REGIONS = load_regions(REPO_RAW / "reference" / "regions.csv")
NOT_READ = "was not read: not a year, value, unit, region, indicator or source column"


def _copy(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "statistics"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def _observations(raw: pl.DataFrame):
    """The statistics rows normalized with the default catalog and regions (no text facts)."""
    return build_observations(raw, pl.DataFrame(schema={**FACT_SCHEMA, "doc_id": pl.String}),
                              pl.DataFrame(schema=DOCUMENT_SCHEMA), CATALOG, REGIONS)


def _yearbook_workbook(path: Path) -> None:
    """A yearbook as analysts get it: a title row, one wide sheet per region, a long summary sheet,
    a sheet of notes and an empty sheet."""
    workbook = openpyxl.Workbook()
    zjg = workbook.active
    zjg.title = "张家港市"
    zjg.append(["张家港市主要经济指标(2019-2021)"])
    zjg.append([])
    zjg.append(["指标", "单位", 2019, "2020年", "2021年"])
    zjg.append(["地区生产总值", "亿元", 2720.5, 2686.6, 3030.21])
    zjg.append(["常住人口", "万人", "—", 125.9, None])
    zjg.append([None, None, None, None, None])
    zjg.append(["一般公共预算收入", "万元", 2300000, "…", 2641300])
    haizhou = workbook.create_sheet("海州区")
    haizhou.append(["项目", "计量单位", "2019", "2020"])
    haizhou.append(["地区生产总值", "亿元", 586, 653])
    summary = workbook.create_sheet("汇总")
    summary.append(["地区", "指标", "年份", "数值(亿元)", "来源"])
    summary.append(["连云港市", "地区生产总值", 2021, 3727.92, "2021年连云港市统计年鉴"])
    notes = workbook.create_sheet("说明")
    notes.append(["本表数据来自各地统计年鉴,2021年为快报数。"])
    notes.append(["“—”表示暂无数据。"])
    workbook.create_sheet("Sheet5")
    workbook.save(path)


def test_long_csv_with_chinese_headers_keeps_every_row_as_written(tmp_path):
    result = read_statistics(_copy(tmp_path, "long_zh.csv"))

    assert result.rows.schema == pl.Schema(RAW_STAT_SCHEMA)
    assert result.rejected.height == 0
    assert result.rows.height == 19  # every data row, placeholders included: normalization judges them
    first = result.rows.row(0, named=True)
    assert first == {
        "source_file": "long_zh.csv", "location": "row 2", "region_text": "张家港", "indicator_text": "地区生产总值",
        "indicator_key": None, "year": "2019年", "value_raw": "2,720.5", "unit": "亿元",
        "source": "2019年张家港市统计年鉴", "source_url": None, "quote": None, "region_from": "column",
    }


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-16-le", "utf-8-sig"])
def test_csv_in_other_encodings_reads_like_utf8(tmp_path, encoding):
    text = (FIXTURES / "long_en.csv").read_text(encoding="utf-8")
    folder = tmp_path / "statistics"
    folder.mkdir()
    (folder / "long_en.csv").write_bytes(text.encode(encoding))

    rows = read_statistics(folder).rows
    assert rows["region_text"].to_list() == ["Zhangjiagang", "张家港市", "张家港市", "张家港市"]
    assert rows["indicator_text"].to_list()[1] == "一般公共预算收入"
    assert rows["unit"].to_list()[0] == "100 million yuan"
    assert rows["source"].to_list()[0] == "2021年张家港市国民经济和社会发展统计公报"


def test_yearbook_wide_csv_unpivots_years_and_reports_a_cell_outside_the_table(tmp_path):
    result = read_statistics(_copy(tmp_path, "yearbook_wide.csv"))
    rows = result.rows

    gdp = rows.filter(pl.col("indicator_text") == "地区生产总值(亿元)", pl.col("region_text") == "张家港市")
    assert gdp.select("year", "value_raw", "location").rows() == [
        ("2019", "2720.5", "row 2, column 2019年"),
        ("2020", "2686.6", "row 2, column 2020年"),
        ("2021", "3030.21", "row 2, column 2021年"),
    ]
    # The row with a note beyond the last header is still read; the note alone is reported.
    assert result.rejected.select("location", "stage", "raw").rows() == [("row 2, column F", "read", "注:2021年为快报数")]
    # Empty cells are no rows; placeholders stay for normalization to treat as missing.
    assert rows.filter(pl.col("indicator_text") == "常住人口(万人)")["value_raw"].to_list() == ["125.3", "—", "…"]
    assert rows.filter(pl.col("region_text") == "海州区")["year"].to_list() == ["2019", "2020"]


def test_workbook_reads_every_sheet_and_reports_notes_and_empty_sheets(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    _yearbook_workbook(folder / "张家港统计年鉴2022.xlsx")

    result = read_statistics(folder)
    rows = result.rows

    zjg = rows.filter(pl.col("region_text") == "张家港市")
    assert zjg.select("indicator_text", "year", "value_raw", "unit", "location").rows() == [
        ("地区生产总值", "2019", "2720.5", "亿元", "sheet 张家港市, row 4, column 2019"),
        ("地区生产总值", "2020", "2686.6", "亿元", "sheet 张家港市, row 4, column 2020年"),
        ("地区生产总值", "2021", "3030.21", "亿元", "sheet 张家港市, row 4, column 2021年"),
        ("常住人口", "2019", "—", "万人", "sheet 张家港市, row 5, column 2019"),
        ("常住人口", "2020", "125.9", "万人", "sheet 张家港市, row 5, column 2020年"),
        ("一般公共预算收入", "2019", "2300000", "万元", "sheet 张家港市, row 7, column 2019"),
        ("一般公共预算收入", "2020", "…", "万元", "sheet 张家港市, row 7, column 2020年"),
        ("一般公共预算收入", "2021", "2641300", "万元", "sheet 张家港市, row 7, column 2021年"),
    ]
    assert rows.filter(pl.col("region_text") == "海州区").select("year", "value_raw").rows() == [("2019", "586"), ("2020", "653")]
    assert set(zjg["region_from"]) == {"sheet name"}
    summary = rows.filter(pl.col("location").str.starts_with("sheet 汇总")).row(0, named=True)
    assert (summary["region_text"], summary["value_raw"], summary["unit"], summary["source"]) == (
        "连云港市", "3727.92", "亿元", "2021年连云港市统计年鉴")
    reported = result.rejected.select("location", "reason").rows()
    assert [loc for loc, _ in reported] == ["sheet 说明", "sheet Sheet5"]
    assert "holds no table of figures" in reported[0][1] and "skipped" in reported[0][1]
    assert "is empty" in reported[1][1]


def test_workbook_written_by_xlsxwriter_with_english_headers_and_a_region_column(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    workbook = xlsxwriter.Workbook(str(folder / "regions.xlsx"))
    sheet = workbook.add_worksheet("Sheet1")
    for r, record in enumerate([["Region", "Indicator", "Unit", "2022", "2023"],
                                ["Lianyungang", "地区生产总值", "亿元", 4005, 4363.61],
                                ["Shandong", "地区生产总值", "亿元", 87435.1, 92068.7]]):
        sheet.write_row(r, 0, record)
    workbook.close()

    rows = read_statistics(folder).rows
    assert rows.select("region_text", "year", "value_raw", "location").rows() == [
        ("Lianyungang", "2022", "4005", "sheet Sheet1, row 2, column 2022"),
        ("Lianyungang", "2023", "4363.61", "sheet Sheet1, row 2, column 2023"),
        ("Shandong", "2022", "87435.1", "sheet Sheet1, row 3, column 2022"),
        ("Shandong", "2023", "92068.7", "sheet Sheet1, row 3, column 2023"),
    ]


def test_files_that_cannot_be_read_are_rejected_whole_and_the_others_still_read(tmp_path):
    folder = _copy(tmp_path, "long_en.csv")
    random.seed(7)
    (folder / "binary.csv").write_bytes(bytes(random.randrange(256) for _ in range(400)))
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (folder / "old_format.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / ".~lock.long_en.csv#").write_text("lock file of an open editor")
    (folder / "~$yearbook.xlsx").write_bytes(b"owner file of a workbook open in Excel")
    (folder / "long_en.csv~").write_text("an editor's backup")
    (folder / "export.tmp").write_text("a file being saved")

    result = read_statistics(folder)

    assert result.rows.height == 4  # long_en.csv, untouched by its bad neighbours
    rejected = {row["source_file"]: row for row in result.rejected.iter_rows(named=True)}
    assert set(rejected) == {"binary.csv", "broken.xlsx", "old_format.xls"}
    assert all(row["location"] == "whole file" and row["stage"] == "read" for row in rejected.values())
    assert "undecodable" in rejected["binary.csv"]["reason"]
    assert "not a readable xlsx workbook" in rejected["broken.xlsx"]["reason"]
    assert "not a csv or xlsx file" in rejected["old_format.xls"]["reason"]


def test_default_real_statistics_are_read_completely():
    result = read_statistics(REPO_RAW / "statistics")

    source = pl.read_csv(REPO_RAW / "statistics" / "real_stats.csv", infer_schema=False)
    assert result.rejected.height == 0
    assert result.rows.height == source.height
    assert result.rows["source"].to_list() == source["source_title"].to_list()
    assert result.rows["indicator_key"].to_list() == source["indicator_key"].to_list()
    # The source_note column is kept as a note after the quote.
    noted = source.select(pl.concat_str(["quote", "source_note: " + pl.col("source_note")], separator="; ",
                                        ignore_nulls=True))
    assert result.rows["quote"].to_list() == noted.to_series().replace("", None).to_list()
    assert result.rows.filter(pl.col("source_url").is_not_null()).height == source.filter(
        pl.col("source_url").is_not_null()).height


def test_missing_statistics_folder_is_no_rows(tmp_path):
    result = read_statistics(tmp_path / "nowhere")
    assert result.rows.height == 0 and result.rejected.height == 0


# --- every column accounted for ---------------------------------------------------------------

def test_wide_workbook_reads_a_preliminary_year_keeps_notes_and_reports_a_column_it_cannot_read(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "张家港市"
    sheet.append(["指标", "单位", "2021年", "2022年(初步核算)", "备注", "口径"])
    sheet.append(["地区生产总值", "亿元", 3030.21, 3302.4, "2022年为初步核算数", "全口径"])
    sheet.append(["一般公共预算收入", "亿元", 264.13, 265.7, None, "全口径"])
    workbook.save(folder / "张家港主要指标.xlsx")

    result = read_statistics(folder)

    where = "sheet 张家港市, "
    assert result.rows.select("indicator_text", "year", "value_raw", "location", "quote").rows() == [
        ("地区生产总值", "2021", "3030.21", where + "row 2, column 2021年", "备注: 2022年为初步核算数"),
        ("地区生产总值", "2022", "3302.4", where + "row 2, column 2022年(初步核算)",
         "2022年(初步核算); 备注: 2022年为初步核算数"),
        ("一般公共预算收入", "2021", "264.13", where + "row 3, column 2021年", None),
        ("一般公共预算收入", "2022", "265.7", where + "row 3, column 2022年(初步核算)", "2022年(初步核算)"),
    ]
    # One report for the column, not one per cell; the rows it sits in are read.
    [(location, stage, reason, raw)] = result.rejected.select("location", "stage", "reason", "raw").rows()
    assert (location, stage, raw) == (where + "column F", "read", "口径: 全口径 | 全口径")
    assert reason.startswith(f"column '口径' {NOT_READ}") and reason.endswith("(2 filled cells)")

    observed = _observations(result.rows)
    assert observed.rejected.is_empty()
    assert observed.rows.sort("indicator_key", "year").select(
        "region_code", "indicator_key", "year", "value", "unit", "evidence").rows() == [
        ("320582", "gdp", 2021, 3030.21, "亿元", "备注: 2022年为初步核算数"),
        ("320582", "gdp", 2022, 3302.4, "亿元", "2022年(初步核算); 备注: 2022年为初步核算数"),
        ("320582", "general_public_budget_revenue", 2021, 264.13, "亿元", None),
        ("320582", "general_public_budget_revenue", 2022, 265.7, "亿元", "2022年(初步核算)"),
    ]


def test_long_csv_reports_a_second_value_column_and_a_year_column_and_reads_notes(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    (folder / "张家港.csv").write_text(
        "地区,指标,年份,数值,单位,数值,2023年,备注\n"
        "张家港市,地区生产总值,2021,3030.21,亿元,3030.2,,\n"
        "张家港市,地区生产总值,2022,3300,亿元,,,预计数\n"
        "张家港市,常住人口,2022,,万人,,,\n",
        encoding="utf-8")

    result = read_statistics(folder)

    assert result.rows.select("location", "year", "value_raw", "unit", "quote").rows() == [
        ("row 2", "2021", "3030.21", "亿元", None),
        ("row 3", "2022", "3300", "亿元", "备注: 预计数"),
        ("row 4", "2022", None, "万人", None),
    ]
    reported = result.rejected.select("location", "reason", "raw").rows()
    assert [(location, raw) for location, _, raw in reported] == [("column F", "数值: 3030.2")]
    assert reported[0][1] == ("column '数值' was not read: a second value column (column D '数值' is read as the "
                              "value); give its figures rows of their own (1 filled cells)")
    # The empty 2023年 column holds nothing, so nothing is lost and nothing is reported.

    observed = _observations(result.rows).rows
    assert observed.select("year", "value", "source_kind").rows() == [
        (2021, 3030.21, "statistics_file"), (2022, 3300.0, "work_report_estimate")]  # the note says 预计


def test_long_workbook_reports_a_year_column_beside_its_year_column(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["地区", "指标", "年份", "数值", "2023年"])
    sheet.append(["连云港市", "地区生产总值", 2022, 4005, 4363.61])
    workbook.save(folder / "连云港.xlsx")

    result = read_statistics(folder)

    assert result.rows.select("region_text", "year", "value_raw").rows() == [("连云港市", "2022", "4005")]
    assert result.rejected.select("location", "reason", "raw").rows() == [(
        "sheet Sheet, column E",
        "column '2023年' was not read: a year across the top of a long table, whose years come from its "
        "年份/year column (1 filled cells)",
        "2023年: 4363.61")]


# --- workbook cells as Excel shows them ---------------------------------------------------------

def test_percent_formatted_cells_are_read_as_percent_and_uncalculated_formulas_are_rejected(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "汇总"
    sheet.append(["地区", "指标", "年份", "数值", "单位"])
    sheet.append(["张家港市", "常住人口城镇化率", 2021, 0.035, "%"])  # shows 3.5%
    sheet.append(["张家港市", "户籍人口城镇化率", 2021, 0.6789, None])  # shows 67.9%, stored 0.6789
    sheet.append(["张家港市", "常住人口城镇化率", 2022, 68.2, "%"])  # shows 68.2% (a quoted %, not scaled)
    sheet.append(["张家港市", "地区生产总值", 2021, 0.3, "亿元"])  # shows 30.0%: not a GDP in 亿元
    sheet.append(["张家港市", "地区生产总值", 2022, "=D5*2", "亿元"])  # never calculated
    sheet["D2"].number_format = "0.0%"
    sheet["D3"].number_format = "0.0%"
    sheet["D4"].number_format = '0.0"%"'
    sheet["D5"].number_format = "0.0%"
    workbook.save(folder / "城镇化.xlsx")

    result = read_statistics(folder)

    assert result.rows.select("location", "value_raw", "unit").rows() == [
        ("sheet 汇总, row 2", "3.5%", "%"),
        ("sheet 汇总, row 3", "67.89%", None),
        ("sheet 汇总, row 4", "68.2", "%"),
        ("sheet 汇总, row 5", "30.0%", "亿元"),
        ("sheet 汇总, row 6", None, "亿元"),
    ]
    assert result.rejected.select("location", "stage", "reason", "raw").rows() == [
        ("sheet 汇总, row 6, column D", "read",
         "formula without a cached value: open and save the workbook in Excel", "=D5*2")]

    observed = _observations(result.rows)
    assert observed.rows.select("indicator_key", "year", "value", "unit").rows() == [
        ("urbanization_rate_registered", 2021, 67.89, "%"),
        ("urbanization_rate_resident", 2021, 3.5, "%"),
        ("urbanization_rate_resident", 2022, 68.2, "%"),
    ]
    [(location, reason)] = observed.rejected.select("location", "reason").rows()
    assert location == "sheet 汇总, row 5" and reason.startswith("unit '%' cannot be converted to 亿元")


def _as_excel_saves_empty_text(path: Path, cell: str) -> None:
    """Mark a formula's empty result as text (t="str"), as Excel writes it; xlsxwriter leaves the type out."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(f'<c r="{cell}">'.encode(), f'<c r="{cell}" t="str">'.encode())
    assert f'<c r="{cell}" t="str">'.encode() in parts[sheet]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_formulas_with_a_cached_value_are_read_as_their_value(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    workbook = xlsxwriter.Workbook(str(folder / "calculated.xlsx"))
    sheet = workbook.add_worksheet("海州区")
    sheet.write_row(0, 0, ["指标", "单位", "2019", "2020"])
    sheet.write_row(1, 0, ["地区生产总值", "亿元", 586])
    sheet.write_formula(1, 3, "=C2+67", None, 653)  # Excel saved the result with the formula
    sheet.write_formula(2, 0, '=IF(C2="","","")', None, "")  # a formula whose result is empty text
    workbook.close()
    _as_excel_saves_empty_text(folder / "calculated.xlsx", "A3")

    result = read_statistics(folder)

    assert result.rows.select("region_text", "year", "value_raw").rows() == [("海州区", "2019", "586"),
                                                                             ("海州区", "2020", "653")]
    assert result.rejected.is_empty()
