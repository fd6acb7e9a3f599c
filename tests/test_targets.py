"""build_targets: every target shape found in real plans becomes a level, a running total or a rate,
in the catalog's unit, with its baseline; what cannot be judged says why."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.lib.documents import DOCUMENT_SCHEMA
from pipelines.lib.extraction import FACT_SCHEMA
from pipelines.lib.observations import OBSERVATION_SCHEMA
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.stage import REJECTED_SCHEMA
from pipelines.lib.targets import TARGET_SCHEMA, build_targets

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "data" / "raw" / "reference"
GOLD = REPO / "tests" / "fixtures" / "gold"
FACTS_SCHEMA = {**FACT_SCHEMA, "doc_id": pl.String}

DOCS = {
    # doc_id: (file, region, doc_type, period, start, end, year)
    "zjg13": ("zjg_13.txt", "320582", "张家港市", "five_year_plan", "十三五", 2016, 2020, 2016),
    "jj14": ("jj_14.txt", "331002", "椒江区", "special_plan", "十四五", 2021, 2025, 2021),
    "zjg19": ("zjg_2019.txt", "320582", "张家港市", "work_report", None, None, None, 2019),
}


@pytest.fixture(scope="module")
def catalog() -> pl.DataFrame:
    return load_catalog(REFERENCE / "indicators.csv")


@pytest.fixture(scope="module")
def regions() -> pl.DataFrame:
    return load_regions(REFERENCE / "regions.csv")


def documents() -> pl.DataFrame:
    return pl.DataFrame(
        [{"doc_id": k, "file": f, "region_code": code, "region_name": name, "doc_type": t, "period": p,
          "period_start": s, "period_end": e, "year": y}
         for k, (f, code, name, t, p, s, e, y) in DOCS.items()],
        schema={c: DOCUMENT_SCHEMA[c] for c in
                ("doc_id", "file", "region_code", "region_name", "doc_type", "period", "period_start", "period_end", "year")},
    )


def fact(doc_id="jj14", line=10, key="gdp", value=1000.0, *, kind="target", value_type="level", unit="亿元",
         comparator=">=", year=2025, attribute=None, region=None, text=None) -> dict:
    return {"doc": DOCS[doc_id][0], "doc_id": doc_id, "line": line, "region": region or DOCS[doc_id][2],
            "kind": kind, "indicator_text": text or key, "indicator_key": key, "value": value,
            "value_type": value_type, "unit": unit, "comparator": comparator, "year": year,
            "attribute": attribute, "evidence": f"{text or key} {value}"}


def facts(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={c: FACTS_SCHEMA[c] for c in rows[0]}).with_columns(
        pl.lit(None, pl.Int32).alias("char_start"), pl.lit(None, pl.Int32).alias("char_end"))


def observation(region_code, key, year, value, value_type="level", rank=1, chosen=True) -> dict:
    return {"region_code": region_code, "indicator_key": key, "year": year, "value": value, "unit": None,
            "value_type": value_type, "source": "test", "source_kind": "statistics_file", "source_rank": rank,
            "source_file": "stats.csv", "location": "row 1", "is_chosen": chosen}


def observations(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={c: OBSERVATION_SCHEMA[c] for c in rows[0]})


def build(frame, catalog, regions, obs=None):
    return build_targets(frame, documents(), catalog, regions=regions, observations=obs)


def one(result) -> dict:
    assert result.rows.height == 1, result.rows
    return result.rows.row(0, named=True)


def test_level_target_keeps_the_stated_value_in_the_catalog_unit(catalog, regions):
    result = build(facts(fact(key="disposable_income_per_capita", value=8.5, unit="万元", comparator="=",
                              attribute="预期性")), catalog, regions)
    target = one(result)
    assert result.rows.schema == pl.Schema(TARGET_SCHEMA)
    assert target["target_value"] == pytest.approx(85000)  # 8.5万元 -> 元, the catalog unit
    assert target["stated_value"] == 8.5 and target["unit"] == "元"
    assert target["comparator"] == ">=" and target["stated_comparator"] == "="  # higher is better
    assert target["measure"] == "level" and target["unresolved"] is None
    assert target["region_code"] == "331002" and target["binding"] is False
    assert target["baseline_year"] == 2020 and target["baseline_value"] is None  # nothing to find it in


def test_bare_numbers_take_the_direction_of_the_catalog(catalog, regions):
    rows = build(facts(
        fact(line=1, key="pm25_concentration", value=30, unit="微克/立方米", comparator="="),
        fact(line=2, key="population_total", value=160, unit="万人", comparator="="),  # a band indicator
        fact(line=3, key="forest_coverage", value=25, unit="%", comparator="="),
        fact(line=4, key="urban_registered_unemployment_rate", value=3, unit="%", comparator="<="),
    ), catalog, regions).rows.sort("line")
    assert rows["comparator"].to_list() == ["<=", "~", ">=", "<="]


def test_change_in_points_resolves_through_the_plan_baseline(catalog, regions):
    # 常住人口城镇化率 2020基数 61.98, 提高3个百分点 by 2025 (a 椒江 table).
    result = build(facts(
        fact(line=589, key="urbanization_rate_resident", value=61.98, kind="baseline", unit="%", comparator="=",
             year=2020),
        fact(line=591, key="urbanization_rate_resident", value=3, value_type="change_pp", unit="个百分点",
             comparator="="),
    ), catalog, regions)
    target = one(result)
    assert target["target_value"] == pytest.approx(64.98)
    assert (target["baseline_value"], target["baseline_year"], target["baseline_source"]) == (61.98, 2020, "plan")
    assert target["unit"] == "%" and target["comparator"] == ">="


def test_the_nearest_baseline_of_the_same_region_wins(catalog, regions):
    result = build(facts(
        fact(line=5, key="air_quality_good_days_ratio", value=90.0, kind="baseline", unit="%", comparator="=", year=2020),
        fact(line=725, key="air_quality_good_days_ratio", value=93.2, kind="baseline", unit="%", comparator="=", year=2020),
        fact(line=729, key="air_quality_good_days_ratio", value=94.5, kind="baseline", unit="%", comparator="=",
             year=2020, region="台州市"),
        fact(line=727, key="air_quality_good_days_ratio", value=95, unit="%", attribute="约束性"),
        fact(line=731, key="air_quality_good_days_ratio", value=95, unit="%", attribute="约束性", region="台州市"),
    ), catalog, regions)
    rows = result.rows.sort("line")
    assert rows["baseline_value"].to_list() == [93.2, 94.5]
    assert rows["region_code"].to_list() == ["331002", "331000"]  # another area of the reference keeps its code
    assert rows["binding"].to_list() == [True, True]


def test_percent_change_resolves_through_the_base_year_observation(catalog, regions):
    # 下降15% is stored as -15; the plan states no baseline, the 2020 observation is 46.
    obs = observations(observation("331002", "pm25_concentration", 2020, 46.0),
                       observation("331002", "pm25_concentration", 2020, 48.0, rank=2, chosen=False),
                       observation("331002", "pm25_concentration", 2019, 50.0))
    target = one(build(facts(fact(key="pm25_concentration", value=-15, value_type="change_pct", unit="%",
                                  comparator="=")), catalog, regions, obs))
    assert target["target_value"] == pytest.approx(46 * 0.85)
    assert (target["baseline_value"], target["baseline_year"], target["baseline_source"]) == (46.0, 2020, "observation")
    assert target["comparator"] == "<=" and target["unit"] == "微克/立方米"


def test_change_without_any_baseline_stays_a_target_that_says_why(catalog, regions):
    target = one(build(facts(fact(key="urbanization_rate_resident", value=3, value_type="change_pp",
                                  unit="个百分点", comparator="=")), catalog, regions))
    assert target["target_value"] is None and target["unresolved"] == "no baseline"


def test_base_years_of_plans_work_reports_and_quoted_earlier_periods(catalog, regions):
    obs = observations(observation("320582", "rd_expenditure_share_gdp", 2015, 2.55),
                       observation("320582", "rd_expenditure_share_gdp", 2018, 2.85),
                       observation("331002", "forest_coverage", 2015, 20.1))
    rows = build(facts(
        fact("zjg13", 7, "rd_expenditure_share_gdp", 3, unit="%", year=2020),  # 十三五 -> 2015
        fact("zjg19", 111, "rd_expenditure_share_gdp", 2.9, kind="annual_target", unit="%", year=2019),  # -> 2018
        fact("jj14", 218, "forest_coverage", 21.4, unit="%", year=2020),  # a 十三五 target in a 十四五 plan -> 2015
    ), catalog, regions, obs).rows.sort("doc_id")
    assert rows.select("doc_id", "baseline_year", "baseline_value").rows() == [
        ("jj14", 2015, 20.1), ("zjg13", 2015, 2.55), ("zjg19", 2018, 2.85)]


def test_a_baseline_of_a_later_year_is_not_the_baseline_of_an_earlier_target(catalog, regions):
    # The 十四五 baseline (2020) must not become the baseline of the 十三五 target for 2020.
    target = one(build(facts(
        fact(line=725, key="air_quality_good_days_ratio", value=93.2, kind="baseline", unit="%", year=2020),
        fact(line=194, key="air_quality_good_days_ratio", value=90, unit="%", comparator="=", year=2020),
    ), catalog, regions))
    assert target["baseline_year"] == 2015 and target["baseline_value"] is None


def test_cumulative_targets_start_from_zero(catalog, regions):
    obs = observations(observation("331002", "primary_secondary_schools_new", 2020, 4.0))
    target = one(build(facts(fact(key="primary_secondary_schools_new", value=13, value_type="cumulative",
                                  unit="所", comparator="=")), catalog, regions, obs))
    assert target["measure"] == "cumulative" and target["comparator"] == ">="
    assert (target["baseline_value"], target["baseline_source"]) == (0.0, "cumulative_start")


def test_rates_and_rate_totals(catalog, regions):
    rows = build(facts(
        fact("jj14", 1, "gdp_growth", 7, value_type="change_pct", unit="%", comparator="~"),  # 年均增长7%左右
        fact("jj14", 2, "energy_intensity_decline", 15, value_type="cumulative", unit="%", comparator="="),  # 五年累计下降15%
        fact("zjg19", 95, "gdp", 6.5, kind="annual_target", value_type="change_pct", unit="%", comparator="~",
             year=2019),  # 增长6.5%左右 this year
    ), catalog, regions).rows.sort("line")
    assert rows.select("measure", "target_value", "comparator", "unit", "baseline_value").rows() == [
        ("rate", 7.0, "~", "%", None), ("rate_total", 15.0, ">=", "%", 0.0), ("rate", 6.5, "~", "%", None)]
    assert rows["unresolved"].to_list() == [None, None, None]


def test_structure_and_multiples_are_kept_but_not_assessed(catalog, regions):
    rows = build(facts(
        fact(line=1, key="industry_share_tertiary", value=55, value_type="structure", unit="%", comparator="="),
        fact(line=2, key="gdp", value=2, value_type="ratio_multiple", unit="倍", comparator="="),
    ), catalog, regions).rows
    assert rows["unresolved"].to_list() == ["value type not assessable"] * 2
    assert rows["target_value"].to_list() == [None, None]


def test_a_sub_area_outside_the_reference_is_not_judged_against_the_whole_region(catalog, regions):
    target = one(build(facts(fact("zjg13", 63, "population_total", 80, unit="万人", comparator="~", year=2020,
                                  region="中心城区")), catalog, regions))
    assert target["region_code"] is None and target["region_name"] == "中心城区"
    assert target["unresolved"] == "region not in reference"


def test_figures_that_cannot_be_targets_are_rejected_with_file_line_and_reason(catalog, regions):
    frame = facts(
        fact(line=3, key=None, value=5, unit="个", text="智慧路灯"),
        fact(line=4, key="not_a_key", value=5, unit="个"),
        fact(line=5, key="gdp", value=5, unit="个"),  # 个 is not 亿元
        fact(line=6, key="gdp", value=1000, unit="亿元"),
        fact(line=7, key="gdp", value=700, kind="actual", unit="亿元", year=2022),  # not a target: ignored here
    )
    result = build(frame, catalog, regions)
    assert result.rows["line"].to_list() == [6]
    rejected = result.rejected.sort("location")
    assert rejected.schema == pl.Schema(REJECTED_SCHEMA)
    assert rejected["location"].to_list() == ["line 3", "line 4", "line 5"]
    assert set(rejected["source_file"]) == {"jj_14.txt"} and set(rejected["stage"]) == {"targets"}
    reasons = rejected["reason"].to_list()
    assert "智慧路灯" in reasons[0] and "indicators.csv" in reasons[0]
    assert "not_a_key" in reasons[1]
    assert "'个'" in reasons[2] and "'亿元'" in reasons[2]


def test_target_ids_are_stable_and_tell_targets_apart(catalog, regions):
    rows = [fact(line=34, key="gdp", value=1000), fact(line=34, key="general_public_budget_revenue", value=100),
            fact(line=36, key="gdp", value=1100)]
    first = build(facts(*rows), catalog, regions).rows
    again = build(facts(*reversed(rows)), catalog, regions).rows
    assert dict(zip(first["line"].cast(str) + first["indicator_key"], first["target_id"], strict=True)) == \
        dict(zip(again["line"].cast(str) + again["indicator_key"], again["target_id"], strict=True))
    assert first["target_id"].n_unique() == 3
    # A re-saved plan (new content hash) or an inserted paragraph (the line moves) keeps its targets' ids,
    # so their status history goes on and no alert is sent again as if the target were new.
    moved = build(facts(*[{**r, "line": r["line"] + 7} for r in rows]), catalog, regions).rows
    assert set(moved["target_id"]) == set(first["target_id"])
    resaved = first.with_columns(pl.lit("another-content-hash").alias("doc_id"))
    assert set(resaved["target_id"]) == set(first["target_id"])
    changed = build(facts(fact(line=34, key="gdp", value=1200)), catalog, regions).rows
    assert changed["target_id"][0] not in set(first["target_id"])


def test_a_target_stated_again_is_one_target_and_the_restatement_is_refused_with_a_pointer(catalog, regions):
    result = build(facts(fact(line=40, value=1000), fact(line=12, value=1000)), catalog, regions)
    assert result.rows["line"].to_list() == [12]
    assert result.rejected["location"].to_list() == ["line 40"]
    assert "stated on line 12" in result.rejected["reason"][0]


def test_the_same_figure_twice_on_a_line_is_one_target_and_one_refusal(catalog, regions):
    result = build(facts(fact(line=9), fact(line=9)), catalog, regions)
    assert result.rows.height == 1
    assert result.rejected["reason"][0].endswith(result.rows["target_id"][0])


def test_gold_labels_of_the_seeds_all_become_targets(catalog, regions):
    gold = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(GOLD.glob("*.csv"))])
    manifest = pl.read_csv(REPO / "data" / "raw" / "plans" / "manifest.csv", infer_schema=False)
    names = load_regions(REFERENCE / "regions.csv").select(pl.col("name_zh").alias("region"), "region_code")
    from pipelines.lib.reference import PERIODS
    docs = manifest.join(names, on="region", how="left").select(
        pl.col("file").alias("doc_id"), "file", "region_code", pl.col("region").alias("region_name"), "doc_type",
        "period", pl.col("period").replace_strict({k: v[0] for k, v in PERIODS.items()}, default=None)
        .cast(pl.Int32).alias("period_start"),
        pl.col("period").replace_strict({k: v[1] for k, v in PERIODS.items()}, default=None)
        .cast(pl.Int32).alias("period_end"),
        pl.col("year").cast(pl.Int32),
    )
    gold_facts = gold.with_columns(pl.col("doc").alias("doc_id")).cast(
        {c: t for c, t in FACTS_SCHEMA.items() if c in gold.columns or c == "doc_id"})
    result = build_targets(gold_facts, docs, catalog, regions=regions)
    wanted = gold.filter(pl.col("kind").is_in(["target", "annual_target"]))
    # Every labelled target becomes a target, or is refused as a restatement of one (专栏 boxes repeat the prose).
    assert result.rejected["reason"].str.contains("the same target is stated on line").all()
    assert result.rows.height + result.rejected.height == wanted.height == 372
    assert result.rows["target_id"].n_unique() == result.rows.height
    by_shape = dict(result.rows.group_by("measure").len().iter_rows())
    assert sum(by_shape.values()) == result.rows.height and set(by_shape) == {"level", "cumulative", "rate"}
    # 椒江's table: 常住人口城镇化率 台州市 61.98 -> 69; 经济总量 691.90 -> 1000 (预期性).
    jj = result.rows.filter(pl.col("doc_id") == "002_504f2942792256ac.txt")
    assert jj.filter(pl.col("line") == 537).select("baseline_value", "target_value", "binding").row(0) == \
        (691.9, 1000.0, False)
    assert jj.filter(pl.col("line") == 591).select("region_code", "baseline_value", "target_value").row(0) == \
        ("331000", 61.98, 69.0)
