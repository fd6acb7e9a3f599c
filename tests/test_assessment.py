"""assess_targets: the methods of METHODOLOGY.md on hand-computed cases, one per target shape,
direction and status rule, the worked examples included."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.lib.assessment import ASSESSMENT_SCHEMA, RULES, assess_targets
from pipelines.lib.observations import OBSERVATION_SCHEMA
from pipelines.lib.reference import load_catalog
from pipelines.lib.targets import TARGET_SCHEMA
from pipelines.lib.warehouse import Warehouse

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "raw" / "reference"
WHEN = datetime(2024, 6, 30, 2, 0)
REGION = "320582"


@pytest.fixture(scope="module")
def catalog() -> pl.DataFrame:
    return load_catalog(REFERENCE / "indicators.csv")


def target(target_id="t", key="rd_expenditure_share_gdp", *, t0=2015, x0=2.55, year=2020, value=3.0, cmp=">=",
           unit="%", measure="level", kind="target", binding=False, region=REGION, unresolved=None,
           value_type="level") -> dict:
    return {"target_id": target_id, "region_code": region, "region_name": "张家港市", "indicator_key": key,
            "doc_id": "d", "line": 1, "evidence": "", "kind": kind, "baseline_year": t0, "baseline_value": x0,
            "baseline_source": "plan" if x0 is not None else None, "target_year": year, "target_value": value,
            "stated_value": value, "comparator": cmp, "stated_comparator": cmp, "value_type": value_type,
            "measure": measure, "unit": unit, "binding": binding, "attribute": "约束性" if binding else None,
            "unresolved": unresolved}


def obs(key, year, value, value_type="level", *, region=REGION, rank=1, chosen=True) -> dict:
    return {"region_code": region, "indicator_key": key, "year": year, "value": value, "unit": None,
            "value_type": value_type, "source": "s", "source_kind": "statistics_file", "source_rank": rank,
            "source_file": "s.csv", "location": "row", "is_chosen": chosen}


def assess(targets: list[dict], observations: list[dict], catalog, run_id="run-1") -> dict[str, dict]:
    frame = assess_targets(
        pl.DataFrame(targets, schema=TARGET_SCHEMA),
        pl.DataFrame(observations, schema={c: OBSERVATION_SCHEMA[c] for c in observations[0]}) if observations
        else pl.DataFrame(schema=OBSERVATION_SCHEMA),
        catalog, run_id=run_id, assessed_at=WHEN,
    )
    assert frame.schema == pl.Schema(ASSESSMENT_SCHEMA)
    assert frame.height == len(targets)
    assert frame.filter(pl.col("status").is_null() | pl.col("rule").is_null() | pl.col("reason").is_null()).height == 0
    assert set(frame["rule"]) <= set(RULES)
    return {r["target_id"]: r for r in frame.iter_rows(named=True)}


# --- the worked examples of METHODOLOGY.md --------------------------------------------------------------

def test_worked_example_rd_share_higher_is_better(catalog):
    a = assess([target()], [obs("rd_expenditure_share_gdp", 2018, 2.85)], catalog)["t"]
    assert (a["latest_year"], a["latest_value"]) == (2018, 2.85)
    assert a["time_progress"] == pytest.approx(0.60)
    assert a["done_progress"] == pytest.approx(0.30 / 0.45)  # 0.667
    assert a["expected_value"] == pytest.approx(2.82)
    assert a["gap"] == pytest.approx(0.03)
    assert a["path_ratio"] == pytest.approx(1.111, abs=1e-3)
    assert a["required_growth"] == pytest.approx((3 / 2.55) ** (1 / 5) - 1)  # 3.30%
    assert a["required_growth"] == pytest.approx(0.0330, abs=1e-4)
    assert a["actual_growth"] == pytest.approx(0.0378, abs=1e-4)
    assert a["growth_ratio"] == pytest.approx(1.14, abs=0.01)
    assert a["growth_category"] == "significant_progress"
    # Trend through (2015, 2.55) and (2018, 2.85): +0.1 a year -> 3.05 in 2020, which reaches 3.0.
    assert (a["projected_value"], a["projection_points"], a["will_meet"]) == (pytest.approx(3.05), 2, True)
    assert (a["status"], a["rule"], a["severity"]) == ("on_track", "on_track: path_ratio>=0.95", "normal")
    assert "不足3点" in a["reason"] and "2.82" in a["reason"]


def test_worked_example_pm25_lower_is_better_and_its_slip(catalog):
    pm = target("pm", "pm25_concentration", t0=2020, x0=46.0, year=2025, value=35.0, cmp="<=", unit="微克/立方米",
                binding=True)
    a = assess([pm], [obs("pm25_concentration", 2022, 39.0)], catalog)["pm"]
    assert a["time_progress"] == pytest.approx(0.40)
    assert a["done_progress"] == pytest.approx(7 / 11)  # 0.636
    assert a["expected_value"] == pytest.approx(41.6)
    assert a["gap"] == pytest.approx(2.6)  # ahead of the path
    assert a["path_ratio"] == pytest.approx(1.59, abs=0.01)
    assert a["required_growth"] == pytest.approx(-0.0532, abs=1e-4)
    assert a["actual_growth"] == pytest.approx(-0.0792, abs=1e-4)
    assert a["growth_ratio"] == pytest.approx(1.49, abs=0.01)
    assert a["projected_value"] == pytest.approx(28.5) and a["will_meet"] is True
    assert (a["status"], a["severity"]) == ("on_track", "high")  # binding

    # "Had 2023 come in at 45": done 1/11 = 0.09 against time 0.6 -> path_ratio 0.15.
    slipped = assess([pm], [obs("pm25_concentration", 2022, 39.0), obs("pm25_concentration", 2023, 45.0)],
                     catalog)["pm"]
    assert slipped["done_progress"] == pytest.approx(0.0909, abs=1e-4)
    assert slipped["time_progress"] == pytest.approx(0.6)
    assert slipped["path_ratio"] == pytest.approx(0.1515, abs=1e-4)
    assert (slipped["status"], slipped["rule"], slipped["severity"]) == \
        ("off_track", "off_track: path_ratio<0.6", "critical")


def test_worked_example_missed_annual_target(catalog):
    annual = target("a", t0=2018, x0=2.85, year=2019, value=2.9, kind="annual_target")
    a = assess([annual], [obs("rd_expenditure_share_gdp", 2019, 2.8)], catalog)["a"]
    assert (a["status"], a["rule"], a["severity"]) == ("off_track", "off_track: annual target missed", "normal")
    assert (a["latest_year"], a["latest_value"]) == (2019, 2.8)
    met = assess([annual], [obs("rd_expenditure_share_gdp", 2019, 2.95)], catalog)["a"]
    assert met["rule"] == "achieved: annual target met"
    # Before the year's actual is out (only the year after is known): nothing to judge yet.
    early = assess([annual], [obs("rd_expenditure_share_gdp", 2018, 2.85), obs("rd_expenditure_share_gdp", 2020, 3.1)],
                   catalog)["a"]
    assert (early["status"], early["rule"]) == ("insufficient_data", "insufficient_data: no actual for target year")
    assert early["latest_year"] is None


# --- achieved, and targets whose year has passed -----------------------------------------------------------

def test_achieved_before_the_target_year_needs_no_baseline(catalog):
    a = assess([target(x0=None)], [obs("rd_expenditure_share_gdp", 2018, 3.1)], catalog)["t"]
    assert (a["status"], a["rule"]) == ("achieved", "achieved: latest meets comparator")
    assert a["expected_value"] is None and a["projected_value"] is None


def test_after_the_target_year_a_target_is_met_or_missed_never_projected(catalog):
    rows = [obs("rd_expenditure_share_gdp", y, v) for y, v in ((2018, 2.85), (2020, 2.95), (2021, 3.2))]
    a = assess([target(binding=True)], rows, catalog)["t"]
    # Judged on 2020, the target year, although 2021 would meet it.
    assert (a["latest_year"], a["latest_value"]) == (2020, 2.95)
    assert (a["status"], a["rule"], a["severity"]) == ("off_track", "off_track: target year passed, missed", "critical")
    assert a["projected_value"] is None and a["will_meet"] is None
    assert a["time_progress"] == 1.0 and a["expected_value"] == pytest.approx(3.0)

    # No 2020 figure: judged on the first year after it, and the reason says so.
    late = assess([target()], [obs("rd_expenditure_share_gdp", 2021, 3.45)], catalog)["t"]
    assert (late["latest_year"], late["rule"]) == (2021, "achieved: target year passed, met")
    assert "2020年无数据，按2021年判断" in late["reason"]


# --- at risk and off track -----------------------------------------------------------------------------

def test_at_risk_between_60_and_95_percent_of_the_path(catalog):
    # 50 -> 100 by 2025; 65 in 2022: time 0.4, done 0.3, path_ratio 0.75.
    t = target("g", "gdp", t0=2020, x0=50.0, year=2025, value=100.0, unit="亿元")
    a = assess([t], [obs("gdp", 2022, 65.0)], catalog)["g"]
    assert a["path_ratio"] == pytest.approx(0.75)
    assert a["gap"] == pytest.approx(65 - 70)
    assert (a["status"], a["rule"]) == ("at_risk", "at_risk: 0.6<=path_ratio<0.95")
    assert a["growth_category"] == "moderate_progress"  # (1.3^(1/2)-1) / (2^(1/5)-1) = 0.77


def test_at_risk_when_on_the_path_but_the_trend_falls_short(catalog):
    # 0 -> 100 by 2030; 40 in 2021-2024, 50 in 2025: on the path (0.5 of 0.5), but the least-squares
    # line through (2020, 0) and the six years reaches only 35 + 125/17.5 * 7.5 = 88.57 in 2030.
    t = target("g", "gdp", t0=2020, x0=0.0, year=2030, value=100.0, unit="亿元")
    rows = [obs("gdp", y, 40.0) for y in range(2021, 2025)] + [obs("gdp", 2025, 50.0)]
    a = assess([t], rows, catalog)["g"]
    assert a["path_ratio"] == pytest.approx(1.0)
    assert a["projected_value"] == pytest.approx(35 + 125 / 17.5 * 7.5)
    assert (a["projection_points"], a["will_meet"]) == (6, False)
    assert a["growth_ratio"] is None  # undefined from a zero baseline: plan path only
    assert (a["status"], a["rule"]) == ("at_risk", "at_risk: projection misses target")
    assert "不足3点" not in a["reason"]


def test_off_track_when_moving_away(catalog):
    t = target("g", "gdp", t0=2020, x0=50.0, year=2025, value=60.0, unit="亿元")
    a = assess([t], [obs("gdp", 2022, 45.0)], catalog)["g"]
    assert a["gap"] < 0 and a["growth_ratio"] < 0 and a["growth_category"] == "moving_away"
    assert (a["status"], a["rule"]) == ("off_track", "off_track: moving away from target")


def test_a_level_to_hold(catalog):
    # 全区河流I-Ⅲ类水质断面比例 77.8 -> 77.8 (约束性): judged by the comparator alone.
    t = target("w", "surface_water_class_i_iii_ratio", t0=2020, x0=77.8, year=2025, value=77.8, binding=True)
    held = assess([t], [obs("surface_water_class_i_iii_ratio", 2022, 80.0)], catalog)["w"]
    slipped = assess([t], [obs("surface_water_class_i_iii_ratio", 2022, 76.0)], catalog)["w"]
    assert held["status"] == "achieved"
    assert (slipped["status"], slipped["rule"], slipped["severity"]) == \
        ("off_track", "off_track: level to hold not held", "critical")
    assert slipped["done_progress"] is None  # x* = x0: no progress ratio


# --- bands (左右) -------------------------------------------------------------------------------------------

def test_band_of_an_indicator_without_direction(catalog):
    # 市域人口控制在160万左右 (population_total is a band indicator): ±2% = 156.8 .. 163.2.
    t = target("p", "population_total", t0=2015, x0=150.0, year=2020, value=160.0, cmp="~", unit="万人")
    inside = assess([t], [obs("population_total", 2018, 163.0)], catalog)["p"]
    beyond = assess([t], [obs("population_total", 2018, 170.0)], catalog)["p"]
    assert inside["rule"] == "achieved: latest meets comparator"
    assert (beyond["status"], beyond["rule"]) == ("off_track", "off_track: beyond the band")


def test_band_of_a_directional_share_counts_from_its_near_edge(catalog):
    # 建成区绿化覆盖率达到43%左右, higher is better: met from 42.5 on, and above the band too.
    t = target("c", "built_up_area_green_coverage", t0=2020, x0=41.0, year=2025, value=43.0, cmp="~")
    for latest, status in ((42.6, "achieved"), (45.0, "achieved"), (42.0, "on_track")):
        a = assess([t], [obs("built_up_area_green_coverage", 2022, latest)], catalog)["c"]
        assert a["status"] == status, latest


# --- running totals and rates ------------------------------------------------------------------------------

def test_cumulative_target_sums_the_yearly_figures_since_the_base_year(catalog):
    # 新建13所中小学校 style: 10 by 2025, 2 in 2021 and 3 in 2022 -> 5, time 0.4, done 0.5.
    t = target("n", "primary_secondary_schools_new", t0=2020, x0=0.0, year=2025, value=10.0, unit="所",
               measure="cumulative", value_type="cumulative")
    rows = [obs("primary_secondary_schools_new", 2020, 7.0), obs("primary_secondary_schools_new", 2021, 2.0),
            obs("primary_secondary_schools_new", 2022, 3.0)]
    a = assess([t], rows, catalog)["n"]
    assert (a["latest_year"], a["latest_value"], a["observations_used"]) == (2022, 5.0, 2)
    assert a["path_ratio"] == pytest.approx(1.25) and a["expected_value"] == pytest.approx(4.0)
    # Trend through (2020, 0), (2021, 2), (2022, 5): slope 2.5 -> 7/3 + 2.5 * 4 = 12.33 in 2025.
    assert a["projected_value"] == pytest.approx(7 / 3 + 10)
    assert a["status"] == "on_track"
    # A reported running total beats the sum; a gap in the yearly figures is said out loud.
    reported = assess([t], rows + [obs("primary_secondary_schools_new", 2022, 6.0, "cumulative")], catalog)["n"]
    assert reported["latest_value"] == 6.0
    gappy = assess([t], [obs("primary_secondary_schools_new", 2022, 3.0)], catalog)["n"]
    assert gappy["latest_value"] == 3.0 and "基期后2年中仅1年有数据" in gappy["reason"]


def test_average_growth_rate_target(catalog):
    # 地区生产总值年均增长7%左右 over 十四五; yearly 8.3, 3.9, 6.0 -> compound average 6.05%.
    t = target("r", "gdp_growth", t0=2020, x0=None, year=2025, value=7.0, cmp="~", measure="rate",
               value_type="change_pct")
    rows = [obs("gdp_growth", 2021, 8.3), obs("gdp_growth", 2022, 3.9), obs("gdp_growth", 2023, 6.0)]
    a = assess([t], rows, catalog)["r"]
    average = (1.083 * 1.039 * 1.06) ** (1 / 3) - 1
    assert a["latest_value"] == pytest.approx(average * 100) and a["observations_used"] == 3
    assert (a["required_growth"], a["actual_growth"]) == (pytest.approx(0.07), pytest.approx(average))
    assert a["growth_ratio"] == pytest.approx(average / 0.07)  # 0.86
    assert (a["status"], a["rule"]) == ("at_risk", "at_risk: 0.6<=growth_ratio<0.95")
    assert a["projected_value"] is None and a["expected_value"] is None
    fast = assess([t], rows[:1], catalog)["r"]
    assert fast["rule"] == "on_track: average rate meets target so far"


def test_annual_growth_target_uses_that_year_s_growth(catalog):
    # 地区生产总值增长6.5%左右 (2019): the 2019 growth of gdp, as change_pct or under gdp_growth.
    t = target("y", "gdp", t0=2018, x0=None, year=2019, value=6.5, cmp="~", kind="annual_target", measure="rate",
               value_type="change_pct")
    as_change = assess([t], [obs("gdp", 2019, 6.2, "change_pct"), obs("gdp", 2019, 2800.0)], catalog)["y"]
    assert (as_change["latest_value"], as_change["rule"]) == (pytest.approx(6.2), "achieved: annual target met")
    as_growth_key = assess([t], [obs("gdp_growth", 2019, 5.9)], catalog)["y"]
    assert (as_growth_key["latest_value"], as_growth_key["rule"]) == \
        (pytest.approx(5.9), "off_track: annual target missed")


def test_total_decline_over_the_period_compounds_the_yearly_falls(catalog):
    # 单位GDP能耗五年累计下降15%: falls of 3% and 4% make 1 - 0.97 * 0.96 = 6.88% by 2022.
    t = target("e", "energy_intensity_decline", t0=2020, x0=0.0, year=2025, value=15.0, measure="rate_total",
               value_type="cumulative", binding=True)
    a = assess([t], [obs("energy_intensity_decline", 2021, 3.0), obs("energy_intensity_decline", 2022, 4.0)],
               catalog)["e"]
    assert a["latest_value"] == pytest.approx(6.88)
    assert a["path_ratio"] == pytest.approx(6.88 / 15 / 0.4)
    # Trend through (2020, 0), (2021, 3), (2022, 6.88): mean 9.88 / 3, slope 6.88 / 2 -> 17.05 in 2025.
    assert a["projected_value"] == pytest.approx(9.88 / 3 + 3.44 * 4)
    assert (a["status"], a["severity"]) == ("on_track", "high")


# --- insufficient data -----------------------------------------------------------------------------------

def test_insufficient_data_says_why(catalog):
    rows = [obs("rd_expenditure_share_gdp", 2015, 2.55), obs("gdp", 2022, 700.0),
            obs("gdp", 2022, 700.0, region="331002")]
    results = assess([
        target("only_base_year"),
        target("no_baseline", "gdp", x0=None, t0=2020, year=2025, value=1000.0, unit="亿元"),
        target("change", "urbanization_rate_resident", x0=None, value=None, unresolved="no baseline"),
        target("structure", "industry_share_tertiary", value=None, unresolved="value type not assessable"),
        target("sub_area", "gdp", region=None, t0=2020, year=2025, value=1000.0, unit="亿元",
               unresolved="region not in reference"),
    ], rows, catalog)
    assert {k: v["rule"] for k, v in results.items()} == {
        "only_base_year": "insufficient_data: no observation after base year",
        "no_baseline": "insufficient_data: no baseline",
        "change": "insufficient_data: no baseline",
        "structure": "insufficient_data: value type not assessable",
        "sub_area": "insufficient_data: region not in reference",
    }
    assert {v["status"] for v in results.values()} == {"insufficient_data"}
    assert results["no_baseline"]["latest_value"] == 700.0  # the numbers found are still shown
    assert "缺少基期值" in results["change"]["reason"]


def test_only_chosen_observations_count(catalog):
    rows = [obs("rd_expenditure_share_gdp", 2018, 3.2, chosen=False), obs("rd_expenditure_share_gdp", 2018, 2.85)]
    assert assess([target()], rows, catalog)["t"]["latest_value"] == 2.85


# --- a seed target checked by hand ------------------------------------------------------------------------

def test_seed_haizhou_gdp_target(catalog):
    # 001 line 34: 力争地区生产总值迈上1000亿台阶 (2025). The plan's review gives 653 亿元 for 2020;
    # the 2021 bulletin gives 727.83 亿元.
    t = target("hz", "gdp", t0=2020, x0=653.0, year=2025, value=1000.0, unit="亿元", region="320706")
    rows = [obs("gdp", 2020, 653.0, region="320706"), obs("gdp", 2021, 727.83, region="320706")]
    a = assess([t], rows, catalog)["hz"]
    assert a["time_progress"] == pytest.approx(0.2)
    assert a["done_progress"] == pytest.approx(74.83 / 347)  # 0.2156
    assert a["expected_value"] == pytest.approx(722.4)
    assert a["gap"] == pytest.approx(5.43)
    assert a["required_growth"] == pytest.approx(math.pow(1000 / 653, 0.2) - 1)  # 8.90%
    assert a["actual_growth"] == pytest.approx(727.83 / 653 - 1)  # 11.46%
    assert a["projected_value"] == pytest.approx(653 + 74.83 * 5)  # 1027.15
    assert a["status"] == "on_track"


# --- the warehouse keeps one row per target per run ------------------------------------------------------

def test_assessments_append_per_run_in_the_warehouse(catalog, tmp_path):
    wh = Warehouse(tmp_path)
    wh.begin()
    targets = pl.DataFrame([target()], schema=TARGET_SCHEMA)
    with wh.connect() as con:
        wh.replace_rows(con, "target", targets)
        for run, latest in (("run-1", [obs("rd_expenditure_share_gdp", 2018, 2.85)]),
                            ("run-2", [obs("rd_expenditure_share_gdp", 2018, 2.75)])):
            frame = assess_targets(targets, pl.DataFrame(latest, schema={c: OBSERVATION_SCHEMA[c] for c in latest[0]}),
                                   catalog, run_id=run, assessed_at=WHEN)
            wh.append_rows(con, "assessment", frame)
        history = con.execute("SELECT run_id, status, rule, path_ratio FROM assessment a JOIN target USING (target_id) "
                              "ORDER BY run_id").fetchall()
    assert [(r[0], r[1]) for r in history] == [("run-1", "on_track"), ("run-2", "at_risk")]
    assert history[1][3] == pytest.approx((0.2 / 0.45) / 0.6)  # 0.74
