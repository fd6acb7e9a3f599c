"""Observations: normalization of statistics rows and text actuals, quarantine reasons, source
precedence, and revisions kept in the warehouse."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.lib.documents import DOCUMENT_SCHEMA
from pipelines.lib.extraction import FACT_SCHEMA
from pipelines.lib.loading import load_observations
from pipelines.lib.observations import OBSERVATION_SCHEMA, build_observations
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.stage import REJECTED_SCHEMA
from pipelines.lib.statistics import RAW_STAT_SCHEMA, read_statistics
from pipelines.lib.warehouse import Warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"
RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
CATALOG = load_catalog(RAW / "reference" / "indicators.csv")
REGIONS = load_regions(RAW / "reference" / "regions.csv")
FACTS = {**FACT_SCHEMA, "doc_id": pl.String}
NO_FACTS = pl.DataFrame(schema=FACTS)
NO_DOCUMENTS = pl.DataFrame(schema=DOCUMENT_SCHEMA)
DOCUMENTS = pl.DataFrame(
    [
        {"doc_id": "plan-zjg", "file": "zjg_plan.txt", "region_code": "320582", "region_name": "张家港市",
         "doc_type": "five_year_plan", "title": "张家港市十四五规划纲要"},
        {"doc_id": "report-zjg", "file": "zjg_report.txt", "region_code": "320582", "region_name": "张家港市",
         "doc_type": "work_report", "title": "2022年张家港市政府工作报告"},
        {"doc_id": "bulletin-zjg", "file": "zjg_bulletin.txt", "region_code": "320582", "region_name": "张家港市",
         "doc_type": "bulletin", "title": "2021年张家港市国民经济和社会发展统计公报"},
        {"doc_id": "plan-jj", "file": "jj_plan.txt", "region_code": "331002", "region_name": "椒江区",
         "doc_type": "special_plan", "title": "椒江区新型城镇化规划"},
    ],
    schema=DOCUMENT_SCHEMA,
)


def _fact(doc_id: str, line: int, kind: str, key: str | None, value: float, value_type: str, unit: str | None,
          year: int | None, region: str | None = None, text: str | None = None) -> dict:
    return {"doc": f"{doc_id}.txt", "doc_id": doc_id, "line": line, "region": region, "kind": kind,
            "indicator_text": text or key, "indicator_key": key, "value": value, "value_type": value_type,
            "unit": unit, "comparator": "=", "year": year, "evidence": f"evidence of line {line}"}


def _facts(*records: dict) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in FACTS} for r in records], schema=FACTS)


def _raw(*records: dict) -> pl.DataFrame:
    base = {c: None for c in RAW_STAT_SCHEMA} | {"source_file": "analyst.csv"}
    return pl.DataFrame([base | {"location": f"row {i + 2}"} | r for i, r in enumerate(records)], schema=RAW_STAT_SCHEMA)


def _build(raw: pl.DataFrame, facts: pl.DataFrame = NO_FACTS, documents: pl.DataFrame = NO_DOCUMENTS):
    return build_observations(raw, facts, documents, CATALOG, REGIONS)


def _one(rows: pl.DataFrame, **where) -> dict:
    found = rows.filter(**where)
    assert found.height == 1, found
    return found.row(0, named=True)


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw") / "statistics"
    shutil.copytree(FIXTURES, folder)
    (folder / "garbled.csv").write_text(
        "地区,指标,年份,数值,单位\n张家港市,地区生产总值,2016,2350,亿元\n张家港市,地区生产\ufffd\ufffd值,2017,2590,亿元\n",
        encoding="utf-8")
    raw = read_statistics(folder)
    return raw, _build(raw.rows)


# --- statistics rows ----------------------------------------------------------------------------

def test_output_follows_the_contracts(fixture_files):
    _, result = fixture_files
    assert result.rows.schema == pl.Schema(OBSERVATION_SCHEMA)
    assert result.rejected.schema == pl.Schema(REJECTED_SCHEMA)


def test_regions_and_units_are_normalized(fixture_files):
    rows = fixture_files[1].rows.filter(pl.col("source_file") == "long_zh.csv")

    gdp = _one(rows, indicator_key="gdp", year=2019, region_code="320582")  # 张家港
    assert (gdp["value"], gdp["unit"], gdp["value_type"], gdp["location"]) == (2720.5, "亿元", "level", "row 2")
    assert _one(rows, indicator_key="resident_population", year=2019)["value"] == pytest.approx(125.3)  # 苏州张家港, 人
    pm25 = _one(rows, indicator_key="pm25_concentration", year=2019)
    assert (pm25["value"], pm25["unit"], pm25["source_kind"]) == (39.0, "微克/立方米", "bulletin")
    assert _one(rows, indicator_key="population_natural_growth_rate")["value"] == pytest.approx(3.5)  # 0.35% = 3.5‰
    assert _one(rows, indicator_key="disposable_income_urban")["value"] == pytest.approx(68000)  # 6.8万元
    share = _one(rows, indicator_key="industry_share_tertiary")
    assert (share["value"], share["unit"], share["value_type"]) == (1.2, "个百分点", "change_pp")
    haizhou = _one(rows, indicator_key="gdp", region_code="320706")  # 连云港市海州区, 万元
    assert (haizhou["value"], haizhou["source_kind"]) == (586.0, "statistics_file")


def test_english_headers_and_units(fixture_files):
    rows = fixture_files[1].rows.filter(pl.col("source_file") == "long_en.csv")
    assert _one(rows, indicator_key="gdp")["region_code"] == "320582"  # Zhangjiagang
    assert _one(rows, indicator_key="general_public_budget_revenue")["value"] == pytest.approx(264.13)
    assert _one(rows, indicator_key="urbanization_rate_resident")["value"] == 74.6
    assert set(rows["source_kind"]) == {"bulletin"}


def test_yearbook_wide_units_in_the_indicator_cell_and_growth_rows(fixture_files):
    rows = fixture_files[1].rows.filter(pl.col("source_file") == "yearbook_wide.csv")
    assert rows.filter(indicator_key="gdp", region_code="320706").select("year", "value").rows() == [
        (2019, 586.0), (2020, 653.0)]
    growth = rows.filter(indicator_key="gdp_growth").sort("year")
    assert growth.select("year", "value", "value_type", "unit").rows() == [
        (2019, 6.0, "change_pct", "%"), (2020, 3.9, "change_pct", "%"), (2021, 8.0, "change_pct", "%")]


def test_placeholders_are_missing_never_zero(fixture_files):
    raw, result = fixture_files
    rows = result.rows
    assert rows.filter(pl.col("value") == 0).height == 0
    assert rows.filter(indicator_key="general_public_budget_revenue", source_file="long_zh.csv").height == 0
    assert rows.filter(indicator_key="tax_revenue").height == 0
    assert rows.filter(indicator_key="resident_population", source_file="yearbook_wide.csv")["year"].to_list() == [2019]
    placeholders = raw.rows.filter(pl.col("value_raw").is_in(["—", "暂无", "…", "-"]) | pl.col("value_raw").is_null())
    rejected = set(result.rejected.select("source_file", "location").rows())
    assert not rejected & set(placeholders.select("source_file", "location").rows())


def test_every_unusable_row_is_quarantined_with_an_actionable_reason(fixture_files):
    rejected = fixture_files[1].rejected
    reasons = {(r["source_file"], r["location"]): r["reason"] for r in rejected.iter_rows(named=True)}
    expected = {
        ("long_zh.csv", "row 12"): "region '中心城区' is not in reference/regions.csv",
        ("long_zh.csv", "row 13"): "indicator '幸福指数' is not in reference/indicators.csv",
        ("long_zh.csv", "row 14"): "value '约两千五百亿' is not a number",
        ("long_zh.csv", "row 15"): "year '二〇一七' is not a year",
        ("long_zh.csv", "row 16"): "unit '亿元' cannot be converted to 万人, the unit of resident_population (常住人口)",
        ("long_zh.csv", "row 17"): "conflicting duplicate in this file: 张家港市 gdp 2020",
        ("long_zh.csv", "row 18"): "conflicting duplicate in this file: 张家港市 gdp 2020",
        ("yearbook_wide.csv", "row 6, column 2019年"): "unit '人' cannot be converted to 亿元",
        ("garbled.csv", "row 3"): "garbled characters (U+FFFD)",
    }
    assert set(reasons) == set(expected)
    for where, phrase in expected.items():
        assert phrase in reasons[where], (where, reasons[where])
    assert "row 17: 2800.0; row 18: 2850.0" in reasons[("long_zh.csv", "row 17")]
    assert set(rejected["stage"]) == {"normalize"}
    assert rejected.filter(location="row 12")["raw"].item() == "中心城区 | 地区生产总值 | 2019 | 100 | 亿元"


def test_bad_rows_lose_no_good_row_of_the_same_file(fixture_files):
    rows = fixture_files[1].rows
    assert _one(rows, source_file="garbled.csv")["value"] == 2350.0
    assert rows.filter(source_file="yearbook_wide.csv", indicator_key="gdp", region_code="320582").height == 3


def test_identical_duplicates_collapse_to_the_first(fixture_files):
    rows = fixture_files[1].rows.filter(source_file="long_zh.csv", indicator_key="resident_population", year=2020)
    assert rows.select("location", "value").rows() == [("row 19", 125.9)]


def test_a_region_taken_from_a_sheet_name_says_so(tmp_path):
    folder = tmp_path / "statistics"
    folder.mkdir()
    (folder / "pm25.csv").write_text("指标,单位,2022,2023\nPM2.5平均浓度,μg/m3,30,32\n", encoding="utf-8")
    (folder / "连云港市.csv").write_text("指标,单位,2022,2023\nPM2.5平均浓度,μg/m3,30,32\n", encoding="utf-8")
    result = _build(read_statistics(folder).rows)
    assert result.rows.select("region_code", "year", "value").rows() == [("320700", 2022, 30.0), ("320700", 2023, 32.0)]
    assert result.rejected.select("source_file", "location").rows() == [
        ("pm25.csv", "row 2, column 2022"), ("pm25.csv", "row 2, column 2023")]
    assert result.rejected["reason"][0].startswith(
        "region 'pm25' (the file name, as the table has no 地区/region column) is not in reference/regions.csv")


def test_a_rounded_repeat_is_the_same_figure_kept_at_its_precise_value():
    result = _build(_raw(
        {"region_text": "椒江区", "indicator_text": "常住人口", "year": "2020", "value_raw": "82.6", "unit": "万人"},
        {"region_text": "椒江区", "indicator_text": "常住人口", "year": "2020", "value_raw": "82.6074", "unit": "万人"},
    ))
    assert result.rejected.height == 0
    assert result.rows.select("value", "location").rows() == [(82.6074, "row 3")]


def test_one_source_gives_one_figure_across_files():
    bulletin = "2021年张家港市国民经济和社会发展统计公报"
    row = {"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2021", "unit": "亿元", "source": bulletin}
    same = _build(_raw(row | {"value_raw": "3030.21", "source_file": "a.csv"},
                       row | {"value_raw": "3030.21", "source_file": "b.csv"}))
    assert same.rows.select("source_file", "location").rows() == [("a.csv", "row 2")]
    differ = _build(_raw(row | {"value_raw": "3030.21", "source_file": "a.csv"},
                         row | {"value_raw": "3130.21", "source_file": "b.csv"}))
    assert differ.rows.height == 0
    assert differ.rejected.select("source_file", "location").rows() == [("a.csv", "row 2"), ("b.csv", "row 3")]
    assert differ.rejected["reason"][0].startswith("conflicting figures from one source in several files")
    assert "a.csv row 2: 3030.21; b.csv row 3: 3130.21" in differ.rejected["reason"][0]


def test_a_text_repeating_its_estimate_as_an_actual_keeps_the_actual():
    rows = _build(pl.DataFrame(schema=RAW_STAT_SCHEMA), _facts(
        _fact("report-zjg", 21, "estimate", "gdp", 2720, "level", "亿元", 2018),
        _fact("report-zjg", 40, "actual", "gdp", 2720, "level", "亿元", 2018),
    ), DOCUMENTS).rows
    assert rows.select("source_kind", "location").rows() == [("plan_retrospective", "line 40")]


@pytest.mark.parametrize(("title", "indicator_text", "kind"), [
    ("2021年张家港市国民经济和社会发展统计公报(张家港市统计局,2022-05-19)", "地区生产总值", "bulletin"),
    ("2020年连云港市生态环境状况公报(市生态环境局)", "PM2.5平均浓度", "bulletin"),
    ("江苏统计年鉴2022", "地区生产总值", "statistics_file"),
    ("山东省统计局统计数据", "地区生产总值", "statistics_file"),
    (None, "地区生产总值", "statistics_file"),
    ("张家港市2021年国民经济和社会发展计划执行情况与2022年计划草案的报告", "一般公共预算收入", "plan_retrospective"),
    ("张家港市2021年国民经济和社会发展计划执行情况与2022年计划草案的报告", "地区生产总值按可比价增长(预计数)",
     "work_report_estimate"),
    ("2018年张家港市人民政府工作报告(全文)", "地区生产总值(预计数)", "work_report_estimate"),
    ("张家港市政府工作报告(2017-01-06)", "全社会研发投入占地区生产总值比重", "plan_retrospective"),
    ("现代快报:江苏13市2022年GDP(ZAKER转载)", "地区生产总值", "press_report"),
    ("2020年苏州市各区GDP排行榜(品汇生活网,非官方汇编)", "地区生产总值", "unofficial_compilation"),
    ("连云港还能发展起来吗(安财经,非官方)", "地区生产总值(预计约数)", "unofficial_compilation"),
])
def test_source_kind_follows_the_title(title, indicator_text, kind):
    rows = _build(_raw({"region_text": "张家港市", "indicator_text": indicator_text, "year": "2021",
                        "value_raw": "8", "unit": None, "source": title})).rows
    assert rows["source_kind"].to_list() == [kind]


def test_a_key_outside_the_catalog_falls_back_to_the_text():
    rows = _build(_raw(
        {"region_text": "张家港市", "indicator_key": "gdp_growth_real", "indicator_text": "地区生产总值增长(按可比价)",
         "year": "2021", "value_raw": "8.0", "unit": "%"},
        {"region_text": "山东省", "indicator_key": "gdp_growth_real", "indicator_text": "地区生产总值按不变价格增长",
         "year": "2022", "value_raw": "3.9", "unit": "%"},
    )).rows
    assert rows.select("region_code", "indicator_key", "value_type").rows() == [
        ("320582", "gdp_growth", "change_pct"), ("370000", "gdp_growth", "change_pct")]


# --- precedence ---------------------------------------------------------------------------------

def _ladder() -> tuple[pl.DataFrame, pl.DataFrame]:
    raw = _raw(
        {"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2021", "value_raw": "3030.21", "unit": "亿元"},
        {"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2021", "value_raw": "3030.2",
         "unit": "亿元", "source": "2021年张家港市国民经济和社会发展统计公报", "source_file": "bulletins.csv"},
    )
    facts = _facts(
        _fact("plan-zjg", 12, "actual", "gdp", 3030.0, "level", "亿元", 2021),
        _fact("report-zjg", 30, "estimate", "gdp", 3000.0, "level", "亿元", 2021),
    )
    return raw, facts


def test_every_candidate_is_kept_and_the_most_authoritative_chosen():
    raw, facts = _ladder()
    rows = _build(raw, facts, DOCUMENTS).rows
    assert rows.select("source_kind", "source_rank", "value", "is_chosen").rows() == [
        ("statistics_file", 1, 3030.21, True),
        ("bulletin", 2, 3030.2, False),
        ("plan_retrospective", 3, 3030.0, False),
        ("work_report_estimate", 5, 3000.0, False),
    ]
    assert rows["source"].to_list() == ["analyst.csv", "2021年张家港市国民经济和社会发展统计公报",
                                        "张家港市十四五规划纲要", "2022年张家港市政府工作报告"]


@pytest.mark.parametrize(("dropped", "chosen"), [(1, "bulletin"), (2, "plan_retrospective"), (3, "work_report_estimate")])
def test_without_the_better_sources_the_next_one_is_chosen(dropped, chosen):
    raw, facts = _ladder()
    raw, facts = raw.slice(min(dropped, 2)), facts.slice(max(dropped - 2, 0))
    rows = _build(raw, facts, DOCUMENTS).rows
    assert rows.filter("is_chosen")["source_kind"].to_list() == [chosen]


def test_a_later_yearbook_revision_wins_within_one_rank():
    rows = _build(_raw(
        {"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2021", "value_raw": "3030.21",
         "source": "张家港统计年鉴2022", "source_file": "yb2022.xlsx"},
        {"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2021", "value_raw": "3032.6",
         "source": "张家港统计年鉴2023", "source_file": "yb2023.xlsx"},
    )).rows
    assert rows.select("source", "is_chosen").rows() == [("张家港统计年鉴2023", True), ("张家港统计年鉴2022", False)]


def test_a_level_and_a_change_never_compete():
    rows = _build(_raw({"region_text": "张家港市", "indicator_text": "地区生产总值", "year": "2018",
                        "value_raw": "2720", "unit": "亿元"}),
                  _facts(_fact("report-zjg", 21, "estimate", "gdp", 6.8, "change_pct", "%", 2018)), DOCUMENTS).rows
    assert rows.select("value_type", "value", "unit", "is_chosen").rows() == [
        ("change_pct", 6.8, "%", True), ("level", 2720.0, "亿元", True)]


# --- text actuals -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def from_texts():
    facts = _facts(
        _fact("report-zjg", 21, "estimate", "gdp_per_capita", 21.6, "level", "万元", 2018),
        _fact("plan-zjg", 9, "actual", "gdp_growth", 7.5, "change_pct", "%", 2020, text="地区生产总值年均增长"),
        _fact("plan-zjg", 9, "actual", "gdp", 24.5, "change_pct", "%", 2020),
        _fact("plan-zjg", 10, "actual", "industry_share_tertiary", 12, "change_pp", "个百分点", 2020),
        _fact("plan-zjg", 11, "actual", "industry_share_tertiary", 52.1, "structure", "%", 2020),
        _fact("plan-zjg", 11, "actual", "gdp_per_capita", 1.42, "ratio_multiple", "倍", 2020),
        _fact("plan-zjg", 14, "actual", "gdp", 653, "level", "亿元", 2020, region="中心城区"),
        _fact("plan-zjg", 15, "actual", "happiness", 95, "level", "%", 2020, text="幸福指数"),
        _fact("plan-zjg", 16, "actual", "resident_population", 125, "level", "亿元", 2020),
        _fact("plan-zjg", 17, "actual", "gdp", 2600, "level", "亿元", None),
        _fact("plan-zjg", 18, "target", "gdp", 4000, "level", "亿元", 2025),
        _fact("plan-jj", 36, "actual", "urban_rural_income_ratio", 2.04, "ratio", None, 2020),
        _fact("plan-jj", 252, "actual", "urban_rural_income_ratio", 2.04, "ratio", None, 2020),
        _fact("plan-jj", 252, "actual", "urban_rural_income_ratio", 1.94, "ratio", None, 2020, region="台州市"),
        _fact("plan-jj", 783, "baseline", "urbanization_rate_resident", 71.2, "level", "%", 2020),
        _fact("bulletin-zjg", 5, "actual", "gdp", 3030.21, "level", "亿元", 2021),
    )
    return build_observations(pl.DataFrame(schema=RAW_STAT_SCHEMA), facts, DOCUMENTS, CATALOG, REGIONS)


def test_text_actuals_take_the_documents_region_and_canonical_units(from_texts):
    rows = from_texts.rows
    per_capita = _one(rows, indicator_key="gdp_per_capita", value_type="level")
    assert (per_capita["region_code"], per_capita["value"], per_capita["unit"]) == ("320582", 216000.0, "元")
    assert (per_capita["source_kind"], per_capita["location"], per_capita["evidence"]) == (
        "work_report_estimate", "line 21", "evidence of line 21")
    assert _one(rows, indicator_key="gdp", year=2021)["source_kind"] == "bulletin"
    assert _one(rows, indicator_key="urbanization_rate_resident")["source_kind"] == "plan_retrospective"
    assert _one(rows, indicator_key="urban_rural_income_ratio", region_code="331000")["value"] == 1.94


def test_changes_are_kept_with_their_value_type_never_as_levels(from_texts):
    rows = from_texts.rows.filter(region_code="320582", year=2020)
    assert sorted(rows.select("indicator_key", "value_type", "value", "unit").rows()) == [
        ("gdp", "change_pct", 24.5, "%"),
        ("gdp_growth", "change_pct", 7.5, "%"),
        ("gdp_per_capita", "ratio_multiple", 1.42, "倍"),
        ("industry_share_tertiary", "change_pp", 12.0, "个百分点"),
        ("industry_share_tertiary", "level", 52.1, "%"),  # one part of a:b:c is the share itself
    ]


def test_targets_are_not_observations_and_repeats_collapse(from_texts):
    rows = from_texts.rows
    assert rows.filter(year=2025).height == 0
    ratio = _one(rows, indicator_key="urban_rural_income_ratio", region_code="331002")
    assert (ratio["value"], ratio["location"], ratio["unit"]) == (2.04, "line 36", None)


def test_unusable_text_actuals_are_quarantined_with_their_line(from_texts):
    reasons = {r["location"]: r["reason"] for r in from_texts.rejected.iter_rows(named=True)}
    assert set(reasons) == {"line 14", "line 15", "line 16", "line 17"}
    assert "region '中心城区' named in the text is not in reference/regions.csv" in reasons["line 14"]
    assert "'happiness' is not in reference/indicators.csv" in reasons["line 15"]
    assert "unit '亿元' cannot be converted to 万人" in reasons["line 16"]
    assert "no year" in reasons["line 17"]
    assert set(from_texts.rejected["source_file"]) == {"plan-zjg.txt"}


# --- the embedded default -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_data():
    raw = read_statistics(RAW / "statistics")
    return raw, _build(raw.rows)


def test_default_figures_keep_their_sources_and_regions(default_data):
    raw, result = default_data
    rows = result.rows
    haizhou = rows.filter(region_code="320706")
    assert set(haizhou["indicator_key"]) == {"gdp", "gdp_growth"}
    assert set(rows["region_code"]) == {"320582", "320700", "320706", "370000", "331000"}
    cited = rows.filter(pl.col("source_url").is_not_null())
    assert cited.height == raw.rows.filter(pl.col("source_url").is_not_null()).height
    zjg_growth = rows.filter(region_code="320582", indicator_key="gdp_growth", year=2021)
    assert zjg_growth.select("source_kind", "value", "is_chosen").rows() == [
        ("bulletin", 8.0, True), ("work_report_estimate", 8.0, False)]
    sd_gdp = rows.filter(region_code="370000", indicator_key="gdp", year=2022)
    assert sd_gdp.select("source_kind", "value", "is_chosen").rows() == [
        ("bulletin", 87435.1, True), ("work_report_estimate", 87000.0, False)]


def test_default_rows_are_all_accounted_for(default_data):
    raw, result = default_data
    assert result.rows.height + result.rejected.height == raw.rows.height
    assert result.rejected.select("location").rows() == [("row 43",)]
    assert "经济增速(约数)" in result.rejected["reason"].item()
    chosen = result.rows.filter("is_chosen")
    assert chosen.select("region_code", "indicator_key", "year", "value_type").is_duplicated().sum() == 0


# --- warehouse: revisions kept ------------------------------------------------------------------

def test_revisions_are_new_rows_and_the_choice_follows_the_latest_run(tmp_path):
    raw, facts = _ladder()
    first = _build(raw, facts, DOCUMENTS).rows
    revised = _build(raw.with_columns(pl.when(pl.col("source_file") == "analyst.csv").then(pl.lit("3032.6"))
                                      .otherwise("value_raw").alias("value_raw")), facts, DOCUMENTS).rows
    wh = Warehouse(tmp_path)
    wh.begin()
    with wh.connect() as con:
        added = [load_observations(wh, con, first, run_id="r1", loaded_at=datetime(2026, 1, 1)),
                 load_observations(wh, con, first, run_id="r2", loaded_at=datetime(2026, 1, 2)),
                 load_observations(wh, con, revised, run_id="r3", loaded_at=datetime(2026, 1, 3))]
        history = con.execute(
            "SELECT value, is_chosen, run_id FROM observation WHERE source_kind = 'statistics_file' ORDER BY run_id"
        ).fetchall()
        chosen = con.execute("SELECT value FROM observation WHERE is_chosen").fetchall()
    assert added == [4, 0, 1]
    assert history == [(3030.21, False, "r1"), (3032.6, True, "r3")]
    assert chosen == [(3032.6,)]
