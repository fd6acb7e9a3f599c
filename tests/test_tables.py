"""Flattened tables: indicator tables (value columns across) and area tables (areas down the side)."""

from __future__ import annotations

from pathlib import Path

import docx
import polars as pl
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from pipelines.lib.documents import read_manifest
from pipelines.lib.extract_context import ExtractionContext
from pipelines.lib.reading import read_document
from pipelines.lib.reference import PERIODS, REGION_SCHEMA, load_catalog, load_regions
from pipelines.lib.scoring import match_figures, score
from pipelines.lib.tables import classify, find_table_facts, read_cell, split_unit

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "data/raw/reference"
GOLD = ROOT / "tests/fixtures/gold"


@pytest.fixture(scope="module")
def catalog() -> pl.DataFrame:
    return load_catalog(REFERENCE / "indicators.csv")


def context(catalog, region="甲县", period="十四五", doc_type="five_year_plan", year=2021) -> ExtractionContext:
    start, end = PERIODS.get(period, (None, None))
    return ExtractionContext("t.txt", region, doc_type, start, end, year, catalog)


def flattened(cells: list[str], *, blank_between: bool = True, before: str = "", after: str = "") -> list[str]:
    """A table as text extraction leaves it: one cell per line (blank lines between, as in web copies)."""
    lines = [before] if before else []
    for cell in cells:
        lines.append(cell)
        if blank_between:
            lines.append("")
    return lines + ([after] if after else [])


def facts_by_line(facts: pl.DataFrame) -> dict[tuple[int, float], dict]:
    return {(row["line"], row["value"], row["region"]): row for row in facts.iter_rows(named=True)}


PROSE = "“十四五”时期,全县经济社会发展的主要目标如下,各项指标详见下表,请各部门认真贯彻落实并做好监测评估工作。"


def test_indicator_table_with_base_and_target_columns_of_two_areas(catalog):
    cells = [
        "表1 甲县“十四五”主要指标",
        "类别", "序号", "指标", "2020年", "基数", "2025年", "目标值", "乙市2020年基数", "乙市2025年目标值", "属性",
        "经济发展",
        "1", "地区生产总值(亿元)", "420.5", "600", "3100", "4500", "期性",
        "2", "一般公共预算收入(亿元)", "35", "≥50", "国家要求", "260", "预期性",
        "民生",
        "3", "森林覆盖率(%", "提高2%", "40.2", "45以上", "束性",  # lost first cell: 甲县 2020基数
        "4", "城乡居民收入比", "1.85∶1", "1.80:1", "1.901", "1.85:1", "预期性",  # 1.901 lost its colon
        "5", "常住人口城化率", "%", "城区30乡村20", "城区≥35乡村≥25", "61", "65", "约束性",
    ]
    note = "注:带“束性”的为约束性指标,2020年数据来源于统计年鉴,乙市数据为全市口径,请各部门认真对照执行并按年度报送。"
    short_prose = "到2025年,森林覆盖率达到45%以上"  # a short prose line just before the caption
    lines = [PROSE[:30], short_prose, *flattened(cells, after=note), PROSE]
    facts, occupied = find_table_facts(lines, context(catalog))
    got = facts_by_line(facts)
    line_of = {text: i for i, text in enumerate(lines, start=1) if text}

    gdp_base = got[(line_of["420.5"], 420.5, "甲县")]
    assert (gdp_base["kind"], gdp_base["year"], gdp_base["indicator_key"]) == ("baseline", 2020, "gdp")
    assert (gdp_base["unit"], gdp_base["comparator"], gdp_base["attribute"]) == ("亿元", "=", "预期性")
    assert gdp_base["evidence"] == "地区生产总值(亿元) 420.5"
    other_area = got[(line_of["4500"], 4500.0, "乙市")]
    assert (other_area["kind"], other_area["year"]) == ("target", 2025)

    revenue_target = got[(line_of["≥50"], 50.0, "甲县")]
    assert (revenue_target["comparator"], revenue_target["indicator_key"]) == (">=", "general_public_budget_revenue")
    assert not facts.filter(pl.col("line") == line_of["国家要求"]).height

    # Three cells for four columns: the first column (甲县 2020基数) is the one lost.
    forest_change = got[(line_of["提高2%"], 2.0, "甲县")]
    assert (forest_change["kind"], forest_change["year"]) == ("target", 2025)
    assert (forest_change["value_type"], forest_change["unit"]) == ("change_pp", "个百分点")
    assert forest_change["attribute"] == "约束性"
    assert got[(line_of["40.2"], 40.2, "乙市")]["kind"] == "baseline"
    assert got[(line_of["45以上"], 45.0, "乙市")]["comparator"] == ">="

    ratio = got[(line_of["1.901"], 1.90, "乙市")]
    assert (ratio["value_type"], ratio["unit"], ratio["indicator_key"]) == ("ratio", "", "urban_rural_income_ratio")

    split = facts.filter(pl.col("line") == line_of["城区≥35乡村≥25"]).sort("value")
    assert split.select("region", "value", "comparator", "unit").rows() == [
        ("甲县(乡村)", 25.0, ">=", "%"), ("甲县(城区)", 35.0, ">=", "%")]
    assert set(split["indicator_key"]) == {"urbanization_rate_resident"}  # 城化率: characters lost

    assert facts.height == 4 + 3 + 3 + 4 + 6
    # The table's lines, its caption and its footnote; not the prose around it.
    assert occupied == set(range(line_of["表1 甲县“十四五”主要指标"], line_of[note] + 1))


def test_completion_table_of_the_previous_period(catalog):
    cells = [
        "指标", "单位", "“十三五”", "目标", "“十三五”", "完成情况", "属性",
        "城镇化水平", "1", "户籍人口城镇化率", "%", "60", "62.3", "约束性",
        "2", "建成区面积", "平方", "公里", "40", "38.5", "预期性",
        "3", "基本医疗保险参保率", "%", "98", "-", "约束性",
    ]
    lines = flattened(cells, blank_between=False)  # as a .docx table reads: no blank lines
    facts, _ = find_table_facts(lines, context(catalog))
    assert facts.sort("line").select("line", "kind", "year", "value", "unit", "indicator_key").rows() == [
        (12, "target", 2020, 60.0, "%", "urbanization_rate_registered"),
        (13, "actual", 2020, 62.3, "%", "urbanization_rate_registered"),
        (19, "target", 2020, 40.0, "平方公里", "built_up_area"),
        (20, "actual", 2020, 38.5, "平方公里", "built_up_area"),
        (25, "target", 2020, 98.0, "%", "basic_medical_insurance_coverage_rate"),
    ]


def test_table_without_attribute_column_and_a_growth_column(catalog):
    cells = ["指标", "单位", "2020年", "2025年", "年均增长(%)",
             "地区生产总值", "亿元", "653", "1000", "8",
             "人均预期寿命", "岁", "81.2", "82", "-"]
    facts, _ = find_table_facts(flattened(cells), context(catalog))
    rows = facts.sort("line").select("kind", "year", "value", "indicator_key", "value_type", "unit").rows()
    assert rows == [
        ("baseline", 2020, 653.0, "gdp", "level", "亿元"),
        ("target", 2025, 1000.0, "gdp", "level", "亿元"),
        ("target", 2025, 8.0, "gdp_growth", "change_pct", "%"),
        ("baseline", 2020, 81.2, "life_expectancy", "level", "岁"),
        ("target", 2025, 82.0, "life_expectancy", "level", "岁"),
    ]


def test_pdf_table_with_one_row_per_line(catalog, tmp_path):
    """A PDF text layer gives a table row per line, cells separated by spaces."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "plan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 10)
    rows = [
        "表1 “十四五”经济社会发展主要指标",
        "序号 指标 单位 2020年 2025年 年均增长 属性",
        "1 地区生产总值 亿元 653 1000 8%左右 预期性",
        "2 城镇登记失业率 % 2.1 <3.5 - 预期性",
        "3 PM2.5年均浓度 微克/立方米 35 ≤30 - 约束性",
        "4 新增城镇就业人数 万人 [6.5] - 预期性",
        "全县上下要围绕上述目标,扎实推进各项工作,确保“十四五”规划顺利实施并取得实效,为现代化建设打下坚实基础。",
    ]
    for i, row in enumerate(rows):
        pdf.drawString(40, 780 - 20 * i, row)
    pdf.save()
    doc = read_document(path)
    facts, occupied = find_table_facts(doc.lines, context(catalog))
    got = facts.sort("line", "char_start").select(
        "line", "kind", "year", "value", "comparator", "indicator_key", "value_type", "unit", "attribute").rows()
    assert got == [
        (3, "baseline", 2020, 653.0, "=", "gdp", "level", "亿元", "预期性"),
        (3, "target", 2025, 1000.0, "=", "gdp", "level", "亿元", "预期性"),
        (3, "target", 2025, 8.0, "~", "gdp_growth", "change_pct", "%", "预期性"),
        (4, "baseline", 2020, 2.1, "=", "urban_registered_unemployment_rate", "level", "%", "预期性"),
        (4, "target", 2025, 3.5, "<=", "urban_registered_unemployment_rate", "level", "%", "预期性"),
        (5, "baseline", 2020, 35.0, "=", "pm25_concentration", "level", "微克/立方米", "约束性"),
        (5, "target", 2025, 30.0, "<=", "pm25_concentration", "level", "微克/立方米", "约束性"),
        # Two cells for three columns: the first (2020) is the one lost; [6.5] is a five-year total.
        (6, "target", 2025, 6.5, "=", "new_employment", "cumulative", "万人", "预期性"),
    ]
    assert occupied == set(range(1, 7))
    assert facts.filter(pl.col("line") == 3)["evidence"].to_list()[0] == "地区生产总值 653"


def test_docx_table_read_as_one_cell_per_line(catalog, tmp_path):
    document = docx.Document()
    document.add_paragraph("表3 主要指标完成情况")
    table = document.add_table(rows=3, cols=5)
    cells = [["指标", "单位", "2020年目标", "2020年完成", "属性"],
             ["森林覆盖率", "%", "≥30", "31.5", "约束性"],
             ["城镇登记失业率", "%", "", "3.2", "预期性"]]  # the empty cell is dropped when read
    for row, values in zip(table.rows, cells, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph(PROSE)
    path = tmp_path / "eval.docx"
    document.save(path)
    facts, _ = find_table_facts(read_document(path).lines, context(catalog))
    assert facts.sort("line").select("kind", "year", "value", "comparator", "indicator_key").rows() == [
        ("target", 2020, 30.0, ">=", "forest_coverage"),
        ("actual", 2020, 31.5, "=", "forest_coverage"),
        # One cell for two columns: the first column's cell is the one missing.
        ("actual", 2020, 3.2, "=", "urban_registered_unemployment_rate"),
    ]


def test_attribute_column_before_the_values(catalog):
    cells = ["序号", "指标名称", "指标属性", "单位", "2020年", "2025年",
             "1", "研发经费投入强度", "预期性", "%", "2.5", "3.2",
             "2", "单位地区生产总值能耗下降", "约束性", "%", "完成省下达任务",
             "3", "人均预期寿命", "预期性", "岁", "80.5", "81"]
    facts, _ = find_table_facts(flattened(cells), context(catalog))
    assert facts.sort("line").select("indicator_key", "kind", "value", "attribute").rows() == [
        ("rd_expenditure_share_gdp", "baseline", 2.5, "预期性"),
        ("rd_expenditure_share_gdp", "target", 3.2, "预期性"),
        ("life_expectancy", "baseline", 80.5, "预期性"),
        ("life_expectancy", "target", 81.0, "预期性"),
    ]


@pytest.fixture
def regions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region_code": ["990000", "990100", "990101", "990102", "990181", "990121"],
            "name_zh": ["某省", "丙市", "东城区", "西湖区", "南山市", "北坡县"],
            "level": ["province", "prefecture", "county", "county", "county", "county"],
            "parent_code": [None, "990000", "990100", "990100", "990100", "990100"],
            "aliases": [None, "丙", "东城", "西湖", "南山", "北坡"],
        },
        schema=REGION_SCHEMA,
    )


def test_area_table_repairs_area_names_and_fills_lost_ones(catalog, regions):
    cells = [
        "表2 丙市各县(市、区)基本情况",
        "县(市、区)", "乡镇", "街道数", "人口数", "(万人)", "地区生", "产总值(亿元)",
        "东城区", "3", "9", "80.1", "700.5",
        "2", "5", "60", "500",  # 西湖区: its area cell was lost
        "山市", "10", "4", "90.2", "650",  # 南山市 with a character lost
        "北坡县", "12", "2", "40.3", "300.25",
    ]
    lines = flattened(cells, after=PROSE)
    facts, occupied = find_table_facts(lines, context(catalog, region="丙市"), regions=regions)
    assert facts.height == 16
    assert set(facts["kind"]) == {"actual"} and set(facts["year"]) == {2020}
    by_area = facts.group_by("region").agg(pl.col("indicator_key").sort()).sort("region")
    assert by_area["region"].to_list() == ["东城区", "北坡县", "南山市", "西湖区"]
    assert by_area["indicator_key"].to_list()[0] == ["gdp", "resident_population", "subdistrict_count",
                                                     "township_count"]
    population = facts.filter(pl.col("region") == "南山市", pl.col("indicator_key") == "resident_population")
    assert population.select("value", "unit", "evidence").row(0) == (90.2, "万人", "山市 人口数(万人) 90.2")
    lost = facts.filter(pl.col("region") == "西湖区", pl.col("indicator_key") == "gdp")
    assert lost.select("value", "unit", "evidence").row(0) == (500.0, "亿元", "地区生产总值(亿元) 500")
    assert max(occupied) == len(lines) - 2  # the prose line after the table is not part of it


def test_area_names_without_a_region_list_stay_as_written(catalog):
    cells = ["县(市、区)", "乡镇", "街道数", "东城区", "3", "9", "西湖区", "2", "5"]
    facts, _ = find_table_facts(flattened(cells), context(catalog, region="丙市"))
    assert sorted(set(facts["region"])) == ["东城区", "西湖区"]


def test_prose_and_lists_are_not_tables(catalog):
    lines = [
        PROSE,
        "专栏1 重点工程",
        "1. 创新平台建设:新建省级研发机构10家。",
        "2. 人才引育:引进高层次人才200人。",
        "3",
        "单位",
        "2025年",
        "全年地区生产总值增长6.8%",
        "一、主要目标",
        "(一)经济发展",
        PROSE,
    ]
    facts, occupied = find_table_facts(lines, context(catalog))
    assert facts.is_empty() and occupied == set()


@pytest.mark.parametrize(
    ("cell", "rate", "expected"),
    [
        ("59", False, [(59.0, "=", None)]),
        ("≥55", False, [(55.0, ">=", None)]),
        ("95以上", False, [(95.0, ">=", None)]),
        ("≤35", False, [(35.0, "<=", None)]),
        ("8左右", False, [(8.0, "~", None)]),
        ("2.04∶1", False, [(2.04, "=", "ratio")]),
        ("提高3%", True, [(3.0, "=", "change_pp")]),
        ("增长6.5%", False, [(6.5, "=", "change_pct")]),
        ("下降13.5%", False, [(-13.5, "=", "change_pct")]),
        ("1,136.87", False, [(1136.87, "=", None)]),
        ("4~5", False, [(4.0, ">=", None)]),
        ("40%-50%", False, [(40.0, ">=", None)]),
        ("[17]", False, [(17.0, "=", "cumulative")]),
        ("〔≥25〕", False, [(25.0, ">=", "cumulative")]),
        ("国家要求", False, []),
        ("--", False, []),
    ],
)
def test_read_cell(cell, rate, expected):
    assert [(r.value, r.comparator, r.value_type) for r in read_cell(cell, rate=rate)] == expected


def test_cell_classes_and_units():
    assert [classify(t) for t in ["期性", "束性", "台州市要求", "-", "77.8", "市区25县级20", "(人/亿元)", "平方",
                                  "城市空气良天数比率", "每千人口3以下幼儿托位数("]] == [
        "ATTR", "ATTR", "SKIP", "SKIP", "NUM", "NUM", "UNIT", "UNIT", "TEXT", "TEXT"]
    assert split_unit("经济总量(亿元)") == ("经济总量", "亿元")
    assert split_unit("常住人口城化率(%") == ("常住人口城化率", "%")
    assert split_unit("每千人口执业(助理)医数(常住人口)(人)") == ("每千人口执业(助理)医数(常住人口)", "人")
    assert split_unit("产总值亿元)") == ("产总值", "亿元")
    assert split_unit("准化避灾安置所(累个数)") == ("准化避灾安置所(累个数)", None)


def _table_gold_and_facts(catalog) -> tuple[pl.DataFrame, pl.DataFrame]:
    """002's table figures against the gold rows on the lines its tables occupy."""
    name = "002_504f2942792256ac.txt"
    meta = next(r for r in read_manifest(ROOT / "data/raw/plans/manifest.csv").iter_rows(named=True)
                if r["file"] == name)
    start, end = PERIODS[meta["period"]]
    ctx = ExtractionContext(name, meta["region"], meta["doc_type"], start, end, int(meta["year"]), catalog)
    doc = read_document(ROOT / "data/raw/plans" / name)
    facts, occupied = find_table_facts(doc.lines, ctx, regions=load_regions(REFERENCE / "regions.csv"),
                                       original=doc.original.split("\n"))
    gold = pl.read_csv(GOLD / name.replace(".txt", ".csv"), infer_schema=False).with_columns(
        pl.col("line").cast(pl.Int32))
    return facts, gold.filter(pl.col("line").is_in(sorted(occupied)))


def test_seed_002_tables_against_gold(catalog):
    facts, gold = _table_gold_and_facts(catalog)
    assert gold.height >= 160  # the three tables: 十三五 completion, counties, 十四五 indicators
    overall = score(facts, gold).filter(pl.col("doc") == "ALL").row(0, named=True)
    assert overall["recall"] >= 0.97 and overall["precision"] >= 0.97
    assert overall["indicator_key"] >= 0.9
    assert min(overall["kind"], overall["year"], overall["comparator"], overall["value_type"]) >= 0.97
    pairs = match_figures(facts, gold)
    assert pairs.height == gold.height


def test_seed_002_table_regions_attributes_and_evidence_follow_the_labels(catalog):
    facts, gold = _table_gold_and_facts(catalog)
    key = ["line", "value"]
    joined = facts.with_columns(pl.col("value").round(6)).join(
        gold.with_columns(pl.col("value").cast(pl.Float64).round(6)), on=[*key, "region"], suffix="_gold")
    assert joined.height == gold.height  # every figure's region as the labels name it (台州市(市区) …)
    assert (joined["attribute"].fill_null("") == joined["attribute_gold"].fill_null("")).all()
    assert (joined["evidence"] == joined["evidence_gold"]).all()
