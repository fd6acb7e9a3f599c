"""A small warehouse with known contents, built through the real schema, loaders and views.

Two regions, five targets, two runs: the numbers follow METHODOLOGY.md closely enough to read
like a real evaluation, and every view and report test can say exactly what it expects.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.lib.assessment import ASSESSMENT_SCHEMA
from pipelines.lib.observations import OBSERVATION_SCHEMA
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.targets import TARGET_SCHEMA
from pipelines.lib.warehouse import Warehouse

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "raw" / "reference"
RUN_1, RUN_2 = "run-2024-01", "run-2024-02"
ZJG, JJ = "320582", "331002"  # 张家港市, 椒江区

DOCUMENTS = pl.DataFrame(
    [
        {"doc_id": "d-zjg", "file": "zjg_14th.txt", "region_code": ZJG, "region_name": "张家港市",
         "doc_type": "five_year_plan", "period": "十四五", "year": 2021, "title": "张家港市国民经济和社会发展第十四个五年规划纲要"},
        {"doc_id": "d-zjg-wr", "file": "zjg_2022_report.txt", "region_code": ZJG, "region_name": "张家港市",
         "doc_type": "work_report", "period": None, "year": 2022, "title": "2022年张家港市政府工作报告"},
        {"doc_id": "d-jj", "file": "jj_14th.txt", "region_code": JJ, "region_name": "椒江区",
         "doc_type": "five_year_plan", "period": "十四五", "year": 2021, "title": "椒江区十四五规划纲要"},
    ]
)

# target_id, region, indicator, doc, line, evidence, baseline (year, value), target (year, value), comparator,
# measure, binding, attribute
TARGETS = pl.DataFrame(
    [
        ("t-rd", ZJG, "rd_expenditure_share_gdp", "d-zjg", 12, "全社会研发经费支出占地区生产总值比重达到3.8%。",
         2020, 3.2, 2025, 3.8, ">=", "level", False, "预期性"),
        # A work report's target for one year: judged once that year's actual exists.
        ("t-annual", ZJG, "rd_expenditure_share_gdp", "d-zjg-wr", 15, "全社会研发经费支出占地区生产总值比重达到3.6%。",
         2021, 3.35, 2022, 3.6, ">=", "level", False, None),
        ("t-growth", ZJG, "gdp_growth", "d-zjg", 7, "地区生产总值年均增长6%左右。",
         2020, None, 2025, 6.0, "~", "rate", False, "预期性"),
        ("t-pm25", ZJG, "pm25_concentration", "d-zjg", 30, "细颗粒物(PM2.5)年均浓度控制在30微克/立方米以内。",
         2020, 33.0, 2025, 30.0, "<=", "level", True, "约束性"),
        ("t-gdp", ZJG, "gdp", "d-zjg", 8, "地区生产总值达到3600亿元。",
         2020, 2686.6, 2025, 3600.0, ">=", "level", False, "预期性"),
        ("t-rev", JJ, "general_public_budget_revenue", "d-jj", 5, "一般公共预算收入达到80亿元。",
         None, None, 2025, 80.0, ">=", "level", False, "预期性"),
        ("t-fai", JJ, "fixed_asset_investment", "d-jj", 9, "五年累计完成固定资产投资1500亿元。",
         2020, None, 2025, 1500.0, ">=", "cumulative", False, None),
        # An area outside reference/regions.csv: kept as a target that cannot be judged.
        ("t-area", None, "built_up_area_green_coverage", "d-zjg", 40, "中心城区建成区绿化覆盖率达到43%。",
         2020, None, 2025, 43.0, ">=", "level", False, "预期性"),
    ],
    schema=["target_id", "region_code", "indicator_key", "doc_id", "line", "evidence", "baseline_year",
            "baseline_value", "target_year", "target_value", "comparator", "measure", "binding", "attribute"],
    orient="row",
)

# region, indicator, year, value, unit, source, source_kind, source_rank, is_chosen
OBSERVATIONS = pl.DataFrame(
    [
        (ZJG, "rd_expenditure_share_gdp", 2020, 3.2, "%", "2020年统计公报", "bulletin", 2, True),
        (ZJG, "rd_expenditure_share_gdp", 2021, 3.35, "%", "2021年统计公报", "bulletin", 2, True),
        (ZJG, "rd_expenditure_share_gdp", 2022, 3.5, "%", "2022年统计公报", "bulletin", 2, True),
        # A lower-ranked estimate for the same year: stored, not chosen.
        (ZJG, "rd_expenditure_share_gdp", 2022, 3.45, "%", "2023年政府工作报告", "work_report_estimate", 4, False),
        (ZJG, "pm25_concentration", 2020, 33.0, "微克/立方米", "2020年统计公报", "bulletin", 2, True),
        (ZJG, "pm25_concentration", 2021, 32.0, "微克/立方米", "2021年统计公报", "bulletin", 2, True),
        (ZJG, "pm25_concentration", 2022, 34.0, "微克/立方米", "2022年统计公报", "bulletin", 2, True),
        (ZJG, "gdp", 2021, 3030.21, "亿元", "real_stats.csv", "statistics_file", 1, True),
        (ZJG, "gdp", 2022, 3100.0, "亿元", "real_stats.csv", "statistics_file", 1, True),
        (ZJG, "gdp_growth", 2021, 8.0, "%", "real_stats.csv", "statistics_file", 1, True),
        (ZJG, "gdp_growth", 2022, 2.5, "%", "real_stats.csv", "statistics_file", 1, True),
        (JJ, "fixed_asset_investment", 2021, 280.0, "亿元", "2021年统计公报", "bulletin", 2, True),
        (JJ, "fixed_asset_investment", 2022, 300.0, "亿元", "2022年统计公报", "bulletin", 2, True),
    ],
    schema=["region_code", "indicator_key", "year", "value", "unit", "source", "source_kind", "source_rank",
            "is_chosen"],
    orient="row",
)

# target, latest (year, value), time/done progress, expected, gap, status, severity, rule — per run
ASSESSED = {
    RUN_1: [
        ("t-rd", 2021, 3.35, 0.2, 0.25, 3.32, 0.03, "on_track", "normal", "path_ratio>=0.95"),
        ("t-pm25", 2021, 32.0, 0.2, 0.333, 32.4, 0.4, "on_track", "high", "path_ratio>=0.95"),
        # An estimate later revised: short of plan in the first run only.
        ("t-gdp", 2021, 2900.0, 0.2, 0.128, 2869.3, 30.7, "at_risk", "normal", "will_meet=false"),
        ("t-rev", None, None, None, None, None, None, "insufficient_data", "normal", "no_baseline"),
        ("t-growth", 2021, 8.0, None, None, None, None, "on_track", "normal", "rate>=required"),
        ("t-annual", None, None, None, None, None, None, "insufficient_data", "normal", "no actual for target year"),
        ("t-area", None, None, None, None, None, None, "insufficient_data", "normal", "region not in reference"),
        ("t-fai", 2021, 280.0, 0.2, 0.187, 300.0, -20.0, "at_risk", "normal", "0.6<=path_ratio<0.95"),
    ],
    RUN_2: [
        ("t-rd", 2022, 3.5, 0.4, 0.5, 3.44, 0.06, "on_track", "normal", "path_ratio>=0.95"),
        ("t-pm25", 2022, 34.0, 0.4, -0.333, 31.8, -2.2, "off_track", "critical", "moving_away"),
        ("t-gdp", 2022, 3100.0, 0.4, 0.453, 3052.2, 47.8, "on_track", "normal", "path_ratio>=0.95"),
        ("t-rev", None, None, None, None, None, None, "insufficient_data", "normal", "no_baseline"),
        ("t-growth", 2022, 5.22, None, None, None, None, "at_risk", "normal", "rate<required"),
        ("t-annual", 2022, 3.5, 1.0, 0.6, 3.6, -0.1, "off_track", "normal", "target year passed, missed"),
        ("t-area", None, None, None, None, None, None, "insufficient_data", "normal", "region not in reference"),
        ("t-fai", 2022, 580.0, 0.4, 0.387, 600.0, -20.0, "at_risk", "normal", "0.6<=path_ratio<0.95"),
    ],
}
ASSESSED_AT = {RUN_1: datetime(2024, 1, 31, 2, 0), RUN_2: datetime(2024, 2, 29, 2, 0)}


def _frame(rows: pl.DataFrame, schema: dict) -> pl.DataFrame:
    """The sample's columns in the stage contract's types; the loader leaves the others NULL."""
    return rows.cast({name: dtype for name, dtype in schema.items() if name in rows.columns})


def assessments(run_id: str) -> pl.DataFrame:
    rows = pl.DataFrame(
        ASSESSED[run_id],
        schema=["target_id", "latest_year", "latest_value", "time_progress", "done_progress", "expected_value",
                "gap", "status", "severity", "rule"],
        orient="row",
    ).join(TARGETS.select("target_id", "region_code", "indicator_key"), on="target_id")
    rows = rows.with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(ASSESSED_AT[run_id]).alias("assessed_at"),
        (pl.col("done_progress") / pl.col("time_progress")).alias("path_ratio"),
    )
    return _frame(rows, ASSESSMENT_SCHEMA)


def build_sample_warehouse(warehouse_dir: Path, *, publish: bool = True) -> Warehouse:
    """Load the sample into a fresh staging file, create the views, and (by default) publish it."""
    wh = Warehouse(warehouse_dir)
    wh.begin()
    with wh.connect() as con:
        wh.replace_rows(con, "region", load_regions(REFERENCE / "regions.csv"))
        catalog = load_catalog(REFERENCE / "indicators.csv")
        wh.replace_rows(con, "indicator", catalog)
        wh.replace_rows(con, "document", DOCUMENTS)
        targets = TARGETS.join(catalog.select("indicator_key", "unit"), on="indicator_key", how="left").join(
            DOCUMENTS.select("doc_id", pl.col("region_name").alias("doc_region")), on="doc_id")
        wh.replace_rows(con, "target", _frame(targets.with_columns(
            pl.col("target_value").alias("stated_value"),
            pl.when(pl.col("doc_id") == "d-zjg-wr").then(pl.lit("annual_target")).otherwise(pl.lit("target"))
            .alias("kind"),
            pl.when(pl.col("measure") == "rate").then(pl.lit("change_pct"))
            .otherwise(pl.col("measure")).alias("value_type"),
            pl.when(pl.col("region_code").is_null()).then(pl.lit("中心城区"))
            .otherwise(pl.col("doc_region")).alias("region_name"),
            pl.when(pl.col("region_code").is_null()).then(pl.lit("region not in reference")).alias("unresolved"),
        ).drop("doc_region"), TARGET_SCHEMA))
        wh.append_rows(con, "observation", _frame(OBSERVATIONS.with_columns(
            pl.when(pl.col("indicator_key").str.ends_with("_growth")).then(pl.lit("change_pct"))
            .otherwise(pl.lit("level")).alias("value_type"),
            pl.lit(RUN_1).alias("run_id"),
        ), OBSERVATION_SCHEMA | {"run_id": pl.String}))
        for run_id in (RUN_1, RUN_2):
            wh.append_rows(con, "assessment", assessments(run_id))
        wh.create_views(con)
    if publish:
        wh.publish()
    return wh
