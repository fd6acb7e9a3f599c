"""Validation at every boundary, end to end: broken statistics are caught by the right layer,
quarantined with their reason, visible as failed Dagster checks, and no alert goes out for them;
the Great Expectations suites catch what reaches the warehouse and build Data Docs that open."""

from __future__ import annotations

import csv
import email
import gc
import json
import re
import shutil
import subprocess
import weakref
from datetime import datetime
from email import policy
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.config import EXPECTATIONS_DIR, SQL_DIR, Paths
from pipelines.lib import gx_validation
from pipelines.lib.gx_validation import (
    load_suite,
    pandas_frame,
    suite_columns,
    suite_names,
    validate_warehouse,
)
from pipelines.lib.loading import load_observations
from pipelines.lib.observations import OBSERVATION_SCHEMA
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.warehouse import Warehouse
from pipelines.runner import run_once, summarize
from tests.conftest import DEFAULT_RAW

STATS_HEADER = ["region", "indicator_key", "indicator_text", "year", "value", "unit", "source_title", "source_url",
                "source_note", "quote"]
# The housing target of 椒江区 slips on the embedded data, so an alert would go out for it.
HOUSING = ("331002", "housing_security_coverage_rate")
PM25_ZJG = ("320582", "pm25_concentration")


def write_statistics(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=STATS_HEADER)
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in STATS_HEADER} for row in rows)


def query(db: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql, params=params or []).pl()
    finally:
        con.close()


def check_results(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def outbox_text(outbox: Path) -> str:
    texts = []
    for eml in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        texts.append(message.get_body(preferencelist=("plain",)).get_content())
    return "\n".join(texts)


# --- the five broken statistics of the issue, through the whole nightly job -----------------------------

BROKEN_ROWS = [  # row numbers: header is row 1
    {"region": "椒江区", "indicator_key": "housing_security_coverage_rate", "year": "2022", "value": "130",
     "unit": "%"},                                                                                     # row 2
    {"region": "张家港市", "indicator_key": "pm25_concentration", "year": "2021", "value": "3500",
     "unit": "微克/立方米"},                                                                            # row 3
    {"region": "张家港市", "indicator_key": "gdp", "year": "2202", "value": "3100", "unit": "亿元"},      # row 4
    {"region": "火星市", "indicator_key": "gdp", "year": "2021", "value": "120", "unit": "亿元"},        # row 5
    {"region": "张家港市", "indicator_key": "general_public_budget_revenue", "year": "2022", "value": "250",
     "unit": "亿元"},                                                                                   # row 6
    {"region": "张家港市", "indicator_key": "general_public_budget_revenue", "year": "2022", "value": "260",
     "unit": "亿元"},                                                                                   # row 7
    # Plausible but suspicious: 39 in 2019 (embedded data), 250 in 2020 (a factor of 6.4).
    {"region": "张家港市", "indicator_key": "pm25_concentration", "year": "2020", "value": "250",
     "unit": "微克/立方米"},                                                                            # row 8
]
# Which layer catches what: the pandera boundary (validate:<check>) or the statistics normalizer
# (normalize), whichever comes first. Year 2202 and an unknown region never become observations, and a
# key given two values in one file is settled by neither row: the normalizer refuses them. Should it
# let any of them through, the pandera checks in the second column catch it at the observations boundary.
CAUGHT_BY = {
    "row 2": ("validate:share_in_percent_within_0_100", "130"),
    "row 3": ("validate:concentration_within_0_1000", "3500"),
    "row 4": ("normalize|validate:year:less_than_or_equal_to", "2202"),
    "row 5": ("normalize|validate:region_code:str_matches", "火星市"),
    "row 6": ("normalize|validate:key_is_unique", "general_public_budget_revenue|conflicting"),
    "row 7": ("normalize|validate:key_is_unique", "general_public_budget_revenue|conflicting"),
}


@pytest.fixture
def broken_run(planwatch_env):
    write_statistics(planwatch_env["raw"] / "statistics" / "broken_stats.csv", BROKEN_ROWS)
    result = run_once()
    return result, Paths.from_env()


def test_broken_statistics_are_caught_quarantined_visible_and_never_alerted(broken_run):
    result, paths = broken_run
    assert result.success  # one bad file never stops the run
    db = paths.warehouse_db

    # Caught by the right layer and quarantined with a reason that names the value.
    refused = query(db, "SELECT location, stage, reason, raw FROM rejected_row WHERE run_id = ? "
                        "AND source_file = 'broken_stats.csv'", [result.run_id])
    by_location = {row["location"]: row for row in refused.iter_rows(named=True)}
    for location, (stages, words) in CAUGHT_BY.items():
        row = by_location[location]
        assert re.fullmatch(stages, row["stage"]), (location, row["stage"])
        assert re.search(words, row["reason"]), (location, row["reason"])
    assert "row 8" not in by_location  # implausible is not broken: it is kept
    assert json.loads(by_location["row 2"]["raw"])["value"] == 130.0

    # None of them reached the observations the assessments are judged on.
    observed = query(db, "SELECT * FROM observation")
    assert observed.filter(pl.col("year") == 2202).is_empty()
    assert observed.filter((pl.col("region_code") == HOUSING[0]) & (pl.col("indicator_key") == HOUSING[1])
                           & (pl.col("value") > 100)).is_empty()
    assert observed.filter(pl.col("value") == 3500).is_empty()
    assert observed.filter((pl.col("indicator_key") == "general_public_budget_revenue")
                           & pl.col("value").is_in([250.0, 260.0])).is_empty()

    # Visible as failed checks in Dagster, with the rows.
    checks = check_results(result)
    valid_observations = checks["valid_observations"]
    assert not valid_observations.passed and valid_observations.severity == dg.AssetCheckSeverity.ERROR
    assert valid_observations.metadata["rows quarantined by pandera"].value >= 2
    quarantined_table = valid_observations.metadata["quarantined rows"].value
    assert "share_in_percent_within_0_100" in quarantined_table and "broken_stats.csv" in quarantined_table
    assert "row 4" in valid_observations.metadata["refused rows"].value
    # The year-over-year jump: a warning, shown on the observation suite, blocking nothing.
    gx_observation = checks["gx_observation"]
    assert not gx_observation.passed and gx_observation.severity == dg.AssetCheckSeverity.WARN
    assert "year_over_year_plausible" in gx_observation.metadata["results"].value
    assert checks["gx_region"].passed and checks["gx_target"].passed

    issues = query(db, "SELECT * FROM validation_issue WHERE run_id = ?", [result.run_id])
    errors = issues.filter(pl.col("severity") == "error")
    assert {(r["region_code"], r["indicator_key"]) for r in errors.iter_rows(named=True)} >= {HOUSING, PM25_ZJG}
    warning = issues.filter(pl.col("severity") == "warning").row(0, named=True)
    assert (warning["region_code"], warning["indicator_key"], warning["year"]) == (*PM25_ZJG, 2020)
    assert warning["check_name"] == "observation.year_over_year_plausible"

    # No alert goes out for the quarantined rows: the slip of the housing target is held, and says why.
    alerts = query(db, """SELECT a.state, a.hold_reason FROM alert a JOIN target t USING (target_id)
                          WHERE t.region_code = ? AND t.indicator_key = ?""", list(HOUSING))
    assert not alerts.is_empty()
    assert set(alerts["state"]) == {"held"}
    assert all("share_in_percent_within_0_100" in r for r in alerts["hold_reason"])
    assert "住房保障受益覆盖率" not in outbox_text(paths.outbox_dir)

    # Data Docs are built and linked from the run summary.
    assert (paths.data_docs_dir / "index.html").exists()
    assert str(paths.data_docs_dir / "index.html") in summarize(paths, result.run_id)


def test_a_hand_edited_row_in_the_history_is_not_reported_and_holds_nothing_night_after_night(planwatch_env):
    """A broken row put into the published history by hand (or left by an older version) reaches no
    assessment, report or email: the suites judge what a run wrote or stands on, so the row does not
    come back as a new rejected row and error issue every night holding its target's alerts forever."""
    wh = Warehouse(planwatch_env["warehouse"])
    wh.begin()
    with wh.connect() as con:
        wh.append_rows(con, "observation", pl.DataFrame([
            {"region_code": HOUSING[0], "indicator_key": HOUSING[1], "year": 2019, "value": 130.0, "unit": "%",
             "value_type": "level", "source": "手工录入", "source_file": "hand_edit", "location": "row 1",
             "is_chosen": True},
            {"region_code": "999999", "indicator_key": "gdp", "year": 2019, "value": 10.0, "unit": "亿元",
             "value_type": "level", "source": "手工录入", "source_file": "hand_edit", "location": "row 2",
             "is_chosen": False},
        ], schema={k: v for k, v in OBSERVATION_SCHEMA.items() if k not in ("source_url", "evidence")}))
    wh.publish()
    db = planwatch_env["warehouse"] / "planwatch.duckdb"
    outbox = planwatch_env["warehouse"] / "outbox"

    for night in (1, 2):
        result = run_once()
        assert result.success
        assert "hand_edit" not in check_results(result)["gx_observation"].metadata["failing rows (first 20)"].value
        assert query(db, "SELECT * FROM rejected_row WHERE source_file = 'hand_edit'").is_empty(), night
        issues = query(db, "SELECT * FROM validation_issue WHERE run_id = ? AND severity = 'error'", [result.run_id])
        assert issues.filter(pl.col("detail").str.contains("130.0|999999")).is_empty(), night
        held = query(db, """SELECT a.state FROM alert a JOIN target t USING (target_id)
                            WHERE t.region_code = ? AND t.indicator_key = ? AND a.state = 'held'""", list(HOUSING))
        assert held.is_empty(), night
        # The load hands the chosen flag to this run's own figure: the hand edit decides nothing.
        assert query(db, "SELECT is_chosen FROM observation WHERE source_file = 'hand_edit'")["is_chosen"].to_list() \
            == [False, False]
    assert "住房保障受益覆盖率" in outbox_text(outbox)  # the slip went out, once, on the first night


def test_assessment_that_breaks_the_model_is_quarantined_and_never_alerts(planwatch_env, monkeypatch):
    """The assessments asset applies the pandera boundary like every stage: a broken assessment is
    not loaded (so it cannot alert), lands in rejected_row with its reason, and fails valid_assessments."""
    from pipelines.defs import assessment as assessment_defs

    assess = assessment_defs.assess_targets

    def broken_housing_assessment(*args, **kwargs) -> pl.DataFrame:
        frame = assess(*args, **kwargs)
        housing = (pl.col("region_code") == HOUSING[0]) & (pl.col("indicator_key") == HOUSING[1])
        return frame.with_columns(pl.when(housing).then(-0.5).otherwise(pl.col("time_progress")).alias("time_progress"))

    monkeypatch.setattr(assessment_defs, "assess_targets", broken_housing_assessment)
    result = run_once()
    assert result.success
    paths = Paths.from_env()
    db = paths.warehouse_db

    check = check_results(result)["valid_assessments"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "time_progress" in check.metadata["quarantined rows"].value
    refused = query(db, "SELECT * FROM rejected_row WHERE run_id = ? AND source_file = 'assessment'", [result.run_id])
    assert refused.height >= 1 and refused["stage"].str.starts_with("validate:time_progress").all()
    assert refused["reason"].str.contains("time_progress=-0.5").all()
    housing_targets = query(db, "SELECT target_id FROM target WHERE region_code = ? AND indicator_key = ?",
                            list(HOUSING))["target_id"]
    assert set(refused["location"]) == {f"target {t}" for t in housing_targets}
    loaded = query(db, "SELECT target_id FROM assessment WHERE run_id = ?", [result.run_id])["target_id"]
    assert not set(housing_targets) & set(loaded) and loaded.len() > 0
    issues = query(db, "SELECT target_id FROM validation_issue WHERE run_id = ? AND severity = 'error'",
                   [result.run_id])["target_id"]
    assert set(housing_targets) <= set(issues)
    assert "住房保障受益覆盖率" not in outbox_text(paths.outbox_dir)


# --- the suites themselves ---------------------------------------------------------------------------------

def warehouse_tables() -> set[str]:
    ddl = (SQL_DIR / "schema.sql").read_text(encoding="utf-8")
    return set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", ddl)) - {"validation_issue"}


def test_one_suite_per_warehouse_table_each_expectation_named_once():
    assert set(suite_names()) == warehouse_tables()
    for name in suite_names():
        spec = load_suite(name)
        checks = [e["meta"]["check"] for e in spec["expectations"]]
        assert len(checks) == len(set(checks)), name
        assert {e.get("severity", "critical") for e in spec["expectations"]} <= {"critical", "warning"}
    assert json.loads((EXPECTATIONS_DIR / "observation.json").read_text(encoding="utf-8"))["expectations"]


@pytest.fixture
def small_warehouse(tmp_path) -> tuple[Warehouse, Path]:
    """A staging warehouse with the reference tables and a few observations, some of them broken."""
    wh = Warehouse(tmp_path / "warehouse")
    wh.begin()
    good = {"unit": "微克/立方米", "value_type": "level", "source": "公报", "is_chosen": True, "source_rank": 2,
            "source_kind": "bulletin", "source_file": "s.csv"}
    rows = [
        {**good, "region_code": "320582", "indicator_key": "pm25_concentration", "year": 2018, "value": 41.0,
         "location": "row 2"},
        {**good, "region_code": "320582", "indicator_key": "pm25_concentration", "year": 2019, "value": 39.0,
         "location": "row 3"},
        {**good, "region_code": "320582", "indicator_key": "pm25_concentration", "year": 2020, "value": 240.0,
         "location": "row 4"},  # x6.2 in a year: implausible
        {**good, "region_code": "320582", "indicator_key": "pm25_concentration", "year": 2021, "value": 3500.0,
         "location": "row 5"},  # impossible
        {**good, "region_code": "999999", "indicator_key": "pm25_concentration", "year": 2021, "value": 30.0,
         "location": "row 6"},  # no such region
        {**good, "region_code": "320582", "indicator_key": "rd_expenditure_share_gdp", "year": 2021, "value": 130.0,
         "unit": "%", "location": "row 7"},  # a share of 130 %
    ]
    with wh.connect() as con:
        wh.replace_rows(con, "region", load_regions(DEFAULT_RAW / "reference" / "regions.csv"))
        wh.replace_rows(con, "indicator", load_catalog(DEFAULT_RAW / "reference" / "indicators.csv"))
        wh.append_rows(con, "observation", pl.DataFrame(rows, schema=OBSERVATION_SCHEMA))
    return wh, tmp_path / "warehouse" / "data_docs"


def test_suites_sort_broken_from_implausible_and_build_data_docs(small_warehouse):
    wh, docs_dir = small_warehouse
    with wh.connect() as con:
        outcome = validate_warehouse(con, run_id="run-1", docs_dir=docs_dir, found_at=datetime(2026, 1, 1))
        issues = con.sql("SELECT * FROM validation_issue").pl()
        refused = con.execute("SELECT location, stage, reason FROM rejected_row ORDER BY location").fetchall()

    suites = {s.table: s for s in outcome.suites}
    assert set(suites) == warehouse_tables()
    observation = suites["observation"]
    assert not observation.passed and observation.severity == "error"
    failed = set(observation.expectations.filter(~pl.col("success"))["check"])
    assert failed == {"observation.concentration_within_0_1000", "observation.region_known",
                      "observation.share_within_0_100", "observation.year_over_year_plausible"}
    assert all(suites[t].passed for t in suites if t != "observation")  # empty tables pass

    # Broken rows: an error issue each, and quarantined with their check; the implausible one: a warning only.
    assert refused == [
        ("row 5", "validate:observation.concentration_within_0_1000",
         "observation: value=3500.0: a concentration in 微克/立方米 (PM2.5) lies within 0–1000"),
        ("row 6", "validate:observation.region_known",
         "observation: region_code=999999: the observation's region is in the region table"),
        ("row 7", "validate:observation.share_within_0_100",
         "observation: value=130.0: a share in % lies within 0–100"),
    ]
    warnings = issues.filter(pl.col("severity") == "warning").sort("year")
    assert warnings["year"].to_list() == [2020, 2021]  # 39 -> 240 (x6.2), and 240 -> 3500
    assert set(warnings["check_name"]) == {"observation.year_over_year_plausible"}
    assert "yoy_ratio=6.15" in warnings["detail"][0]
    assert issues.filter(pl.col("severity") == "error").height == 3

    # Data Docs: the index links every suite and this run's result of each; every page is a file.
    index = docs_dir / "index.html"
    assert index == outcome.docs_index and index.exists()
    pages = set(re.findall(r"(?:expectations|validations)/[^\"']+?\.html", index.read_text(encoding="utf-8")))
    assert {f"expectations/{name}.html" for name in suite_names()} <= pages
    assert {p.split("/")[1] for p in pages if p.startswith("validations/")} == set(suite_names())
    assert all((docs_dir / page).exists() for page in pages)
    assert outcome.pages["observation"].parent.parent.name == "run-1"
    assert "yoy_ratio" in outcome.pages["observation"].read_text(encoding="utf-8")


def test_an_assessment_of_a_target_not_in_the_target_table_is_caught(small_warehouse):
    wh, docs_dir = small_warehouse
    with wh.connect() as con:
        con.execute("""INSERT INTO target (target_id, region_code, indicator_key, kind)
                       VALUES ('t-known', '320582', 'pm25_concentration', 'target')""")
        con.execute("""INSERT INTO assessment (run_id, target_id, region_code, indicator_key, status)
                       VALUES ('run-1', 't-known', '320582', 'pm25_concentration', 'achieved'),
                              ('run-1', 't-gone', '320582', 'pm25_concentration', 'achieved')""")
        outcome = validate_warehouse(con, run_id="run-1", docs_dir=docs_dir, found_at=datetime(2026, 1, 1))
        refused = con.execute("SELECT location, stage FROM rejected_row WHERE source_file = 'assessment'").fetchall()
    assessment = {s.table: s for s in outcome.suites}["assessment"]
    failed = set(assessment.expectations.filter(~pl.col("success"))["check"])
    assert "assessment.target_known" in failed  # (the bare rows lack a rule, too)
    assert [r for r in refused if r[1] == "validate:assessment.target_known"] == [
        ("target t-gone", "validate:assessment.target_known")]


def test_a_broken_row_is_reported_by_the_run_that_wrote_it_and_not_again(tmp_path):
    """Two runs through the real loader: run 1 loads a broken and an implausible figure, run 2's input
    no longer has them. Run 1 reports them; run 2 (the rows still in the history) reports nothing."""
    wh = Warehouse(tmp_path / "warehouse")
    wh.begin()
    good = {"unit": "微克/立方米", "value_type": "level", "source": "公报", "is_chosen": True, "source_rank": 2,
            "source_kind": "bulletin", "source_file": "s.csv", "region_code": "320582",
            "indicator_key": "pm25_concentration"}
    run_1 = [{**good, "year": 2019, "value": 39.0, "location": "row 2"},
             {**good, "year": 2020, "value": 240.0, "location": "row 3"},  # x6.2 in a year: implausible
             {**good, "region_code": "999999", "year": 2020, "value": 30.0, "location": "row 4"}]  # no such region
    run_2 = [{**good, "year": 2019, "value": 39.0, "location": "row 2"},
             {**good, "year": 2020, "value": 37.0, "location": "row 3"}]  # corrected

    def night(run_id: str, rows: list[dict], day: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        with wh.connect() as con:
            wh.replace_rows(con, "region", load_regions(DEFAULT_RAW / "reference" / "regions.csv"))
            wh.replace_rows(con, "indicator", load_catalog(DEFAULT_RAW / "reference" / "indicators.csv"))
            load_observations(wh, con, pl.DataFrame(rows, schema=OBSERVATION_SCHEMA), run_id=run_id,
                              loaded_at=datetime(2026, 1, day))
            validate_warehouse(con, run_id=run_id, docs_dir=None, found_at=datetime(2026, 1, day))
            return (con.sql("SELECT * FROM validation_issue WHERE run_id = $r", params={"r": run_id}).pl(),
                    con.sql("SELECT * FROM rejected_row WHERE run_id = $r", params={"r": run_id}).pl())

    issues, refused = night("run-1", run_1, 1)
    assert sorted(issues.select("check_name", "severity").rows()) == [
        ("observation.region_known", "error"), ("observation.year_over_year_plausible", "warning")]
    assert refused["location"].to_list() == ["row 4"]

    issues, refused = night("run-2", run_2, 2)
    assert issues.is_empty() and refused.is_empty()
    with wh.connect() as con:  # the history keeps every value ever seen, the broken one included
        assert con.execute("SELECT count(*) FROM observation WHERE region_code = '999999'").fetchall() == [(1,)]


def test_alert_rows_are_judged_once_by_the_run_after_the_one_that_wrote_them(small_warehouse):
    wh, _ = small_warehouse
    def assessed(con, run: str, day: int) -> None:  # the run's assessments load before its validation
        wh.append_rows(con, "assessment", pl.DataFrame(
            [{"run_id": run, "assessed_at": datetime(2026, 1, day), "target_id": "t1", "status": "off_track"}]))

    with wh.connect() as con:
        assessed(con, "run-1", 1)
        wh.append_rows(con, "alert", pl.DataFrame([
            {"alert_id": "a1", "target_id": "t1", "alert_type": "slip", "state": "sent", "status_after": "off_track",
             "last_run_id": "run-1"},
            {"alert_id": "a2", "target_id": "t1", "alert_type": "reminder", "state": "sent",
             "status_after": "off_track", "last_run_id": "run-1"},  # a type nobody knows
        ]))
        for day, run in ((2, "run-2"), (3, "run-3")):
            assessed(con, run, day)
            validate_warehouse(con, run_id=run, docs_dir=None, found_at=datetime(2026, 1, day))
        issues = con.execute("SELECT run_id, check_name, target_id FROM validation_issue "
                             "WHERE table_name = 'alert'").fetchall()
    assert issues == [("run-2", "alert.alert_type_known", "t1")]


def test_each_suite_sees_the_columns_it_reads_with_the_values_of_the_whole_frame():
    """GX gets a narrow pandas frame per suite (it copies its frame for every row condition and metric):
    every column an expectation or its row condition reads, nothing else, the same values and dtypes."""
    frame_columns = ["region_code", "indicator_key", "year", "value", "unit", "value_type", "source", "source_file",
                     "location", "is_chosen", "run_id", "value_kind", "previous_value", "yoy_ratio", "_source_file"]
    assert suite_columns(load_suite("observation"), frame_columns) == [
        "region_code", "indicator_key", "year", "value", "unit", "value_type", "source", "is_chosen", "value_kind",
        "yoy_ratio"]  # unit, value_kind, is_chosen: read by row conditions only
    assert suite_columns({"expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {}}]},
                         frame_columns) == frame_columns  # a table-wide expectation sees the whole row

    frame = pl.DataFrame({"region_code": ["320582", None, "320582"], "value": [1.5, None, 3.0],
                          "year": [2020, 2021, None], "is_chosen": [True, None, False]})
    converted, reference = pandas_frame(frame), frame.to_pandas()
    assert converted.dtypes.to_dict() == reference.dtypes.to_dict() and converted.equals(reference)
    assert converted["region_code"].tolist() == ["320582", None, "320582"]


def test_no_suite_frame_outlives_its_validation(small_warehouse, monkeypatch):
    """GX's pandas data source keeps every batch it validated while the context lives: each suite's
    frame is let go before the next one is read, so the tables never sit in memory together."""
    wh, _ = small_warehouse
    handed = []

    def tracked(frame: pl.DataFrame):
        data = pandas_frame(frame)
        handed.append(weakref.ref(data))
        return data

    monkeypatch.setattr(gx_validation, "pandas_frame", tracked)
    with wh.connect() as con:
        outcome = validate_warehouse(con, run_id="run-1", docs_dir=None, found_at=datetime(2026, 1, 1))
    gc.collect()
    # One frame per suite, and one more for the suites with whole-table (uniqueness) expectations.
    with_whole = [n for n in suite_names() if gx_validation._split(load_suite(n))[1]["expectations"]]
    assert len(outcome.suites) == len(suite_names()) and len(handed) == len(suite_names()) + len(with_whole) > 9
    assert [ref() for ref in handed] == [None] * len(handed)


def test_rows_that_passed_before_are_not_judged_again_and_broken_ones_always_are(small_warehouse, tmp_path,
                                                                                monkeypatch):
    """With a memo folder, a second validation hands GX only the rows it has not seen pass (the broken
    ones, a changed one), and finds and records exactly what a validation of every row finds."""
    wh, _ = small_warehouse
    judged = []

    def tracked(frame: pl.DataFrame):
        if {"yoy_ratio", "is_chosen"} & set(frame.columns):  # the observation suite's (by row, whole table)
            judged.append(frame.height)
        return pandas_frame(frame)

    monkeypatch.setattr(gx_validation, "pandas_frame", tracked)
    memo, found = tmp_path / "memo", datetime(2026, 1, 1)

    def validate(run_id: str, memo_dir: Path | None):
        judged.clear()
        with wh.connect() as con:
            outcome = validate_warehouse(con, run_id=run_id, docs_dir=None, found_at=found, memo_dir=memo_dir)
            issues = con.execute("SELECT check_name, region_code, year, detail FROM validation_issue WHERE run_id = ? "
                                 "ORDER BY ALL", [run_id]).fetchall()
        suites = {s.table: (s.expectations, s.failures.drop("run_id", "_row")) for s in outcome.suites}  # _row: in the frame judged
        return suites, issues, list(judged)

    everything, all_issues, _ = validate("run-1", None)
    first, first_issues, _ = validate("run-2", memo)
    second, second_issues, frames = validate("run-3", memo)
    for table, (expectations, failures) in everything.items():
        for other in (first, second):
            assert other[table][0].equals(expectations) and other[table][1].equals(failures), table
    assert first_issues == second_issues == all_issues and len(all_issues) == 5
    # The second time the observation suite is handed only the rows that failed (4: x6.2, a warning; 5, 6, 7),
    # not rows 2 and 3, which passed; the whole-table checks (uniqueness) only rows whose key repeats: none.
    assert frames == [4, 0]

    # A row that changes is judged again.
    with wh.connect() as con:
        con.execute("UPDATE observation SET value = 2000 WHERE location = 'row 3'")
    third, third_issues, frames = validate("run-4", memo)
    assert frames == [5, 0] and len(third_issues) == len(all_issues) + 2  # out of range, and 41 -> 2000 implausible

    # A second chosen figure for row 2's key, and an unchosen copy of row 2 (an old value no run stands on): the
    # whole-table checks get the rows whose key repeats among the rows their condition selects, and find what
    # a check of every row finds.
    with wh.connect() as con:
        con.execute("""INSERT INTO observation BY NAME SELECT * REPLACE ('年鉴' AS source, 'row 8' AS location) FROM
                       observation WHERE location = 'row 2' UNION ALL BY NAME SELECT * REPLACE (false AS is_chosen,
                       'row 9' AS location) FROM observation WHERE location = 'row 2'""")
    unmemoized, unmemoized_issues, _ = validate("run-5", None)
    fourth, fourth_issues, frames = validate("run-6", memo)
    # By row: the failing rows 3-7; rows 8 and 9 read like row 2, which passed. Whole table: rows 2 and 8
    # (two chosen figures for one key); row 9 is neither chosen nor this run's, so not in the frame.
    assert frames == [5, 2]
    assert fourth_issues == unmemoized_issues and "observation.one_chosen_per_key" in {c for c, *_ in fourth_issues}
    for table, (expectations, failures) in unmemoized.items():
        assert fourth[table][0].equals(expectations) and fourth[table][1].equals(failures), table


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium to open the page")
def test_data_docs_open_in_a_browser(small_warehouse):
    wh, docs_dir = small_warehouse
    with wh.connect() as con:
        outcome = validate_warehouse(con, run_id="run-1", docs_dir=docs_dir, found_at=datetime(2026, 1, 1))
    # Offline here: the CDN styles and scripts fail fast instead of waiting for the network.
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--dump-dom", outcome.pages["observation"].as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # what the page shows, not its scripts
    assert "Expectation Suite" in body and "observation" in body and "yoy_ratio" in body


def test_warehouse_validation_runs_before_report_and_alerts():
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    for asset in ("report", "alerts"):
        assert dg.AssetKey("warehouse_validation") in graph.get(dg.AssetKey(asset)).parent_keys
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {("warehouse_validation", f"gx_{name}") for name in suite_names()} <= checks
    assert {("observations", "valid_observations"), ("targets", "valid_targets")} <= checks


def test_a_row_broken_in_two_checkpoints_is_refused_once_under_its_own_place(small_warehouse):
    """Uniqueness is judged in a checkpoint of its own over fewer rows: a refused row is still named by its
    place in the whole table, so two broken rows never merge into one refusal."""
    wh, _ = small_warehouse
    with wh.connect() as con:  # rows 2 and 3 stored twice (no_duplicate_history, one_chosen_per_key)
        con.execute("""INSERT INTO observation BY NAME SELECT * REPLACE ('row 8' AS location) FROM observation
                       WHERE location = 'row 2' UNION ALL BY NAME SELECT * REPLACE ('row 9' AS location)
                       FROM observation WHERE location = 'row 3'""")
        validate_warehouse(con, run_id="run-1", docs_dir=None, found_at=datetime(2026, 1, 1))
        refused = con.execute("SELECT location, reason FROM rejected_row ORDER BY location").fetchall()
    assert [location for location, _ in refused] == [f"row {n}" for n in (2, 3, 5, 6, 7, 8, 9)]
    reasons = dict(refused)
    assert "value=3500.0" in reasons["row 5"] and "a value seen again" not in reasons["row 5"]
    for copy in ("row 2", "row 3", "row 8", "row 9"):
        assert "value seen again" in reasons[copy] or "is stored twice" in reasons[copy] or "unique" in reasons[copy], \
            reasons[copy]


def test_failing_rows_of_a_frame_read_in_several_chunks_are_reported(small_warehouse, monkeypatch):
    """A national table comes out of DuckDB in several chunks; the failing rows filtered out of it keep
    empty chunks, on which polars' pl.format panics: they are reported like those of a one-chunk frame."""
    wh, _ = small_warehouse
    read = gx_validation._read

    def in_chunks(con, sql, *, run_id):
        frame = read(con, sql, run_id=run_id)
        return pl.concat([frame.slice(0, 2), frame.slice(2, 2), frame.slice(4)], rechunk=False)

    with wh.connect() as con:
        whole = validate_warehouse(con, run_id="run-1", docs_dir=None, found_at=datetime(2026, 1, 1))
        monkeypatch.setattr(gx_validation, "_read", in_chunks)
        chunked = validate_warehouse(con, run_id="run-2", docs_dir=None, found_at=datetime(2026, 1, 1))
    for one, other in zip(whole.suites, chunked.suites, strict=True):
        assert one.failures.drop("run_id").equals(other.failures.drop("run_id")), one.table
    assert {s.table: s for s in chunked.suites}["observation"].failures.height == 5


def test_a_new_run_id_alone_does_not_make_an_assessment_judged_again(small_warehouse, tmp_path):
    """The assessment suite only checks that run_id is present, and every run writes a new one: an
    assessment that reads like one that passed is not judged again; a changed or a broken one is, and
    the failures are those of a validation without the memo."""
    wh, _ = small_warehouse
    memo = tmp_path / "memo"
    with wh.connect() as con:
        con.execute("""INSERT INTO target (target_id, region_code, indicator_key, kind)
                       SELECT 't-' || i, '320582', 'pm25_concentration', 'target' FROM range(1, 4) r(i)""")

        def assess(run_id: str, statuses: list[str]):
            con.execute("""INSERT INTO assessment (run_id, target_id, region_code, indicator_key, status, rule)
                           SELECT ?, 't-' || i, '320582', 'pm25_concentration', status, 'rule'
                           FROM (SELECT unnest(?) AS status, generate_subscripts(?, 1) AS i)""",
                        [run_id, statuses, statuses])
            memoized, _ = gx_validation.run_suites(con, run_id=run_id, names=["assessment"], memo_dir=memo)
            unmemoized, _ = gx_validation.run_suites(con, run_id=run_id, names=["assessment"])
            assert memoized[0].failures.drop("_row").equals(unmemoized[0].failures.drop("_row"))
            assert memoized[0].expectations.equals(unmemoized[0].expectations)
            return memoized[0]

        first = assess("run-1", ["achieved", "bogus", "on_track"])
        assert first.rows_judged == 3 and set(first.failures["check_name"]) == {"assessment.status_known"}
        second = assess("run-2", ["achieved", "bogus", "off_track"])  # t-3 changed, t-2 still broken
        assert (second.rows_judged, second.rows_passed_before) == (2, 1)
        assert second.failures["location"].to_list() == ["target t-2"]


def test_rows_that_passed_before_stay_in_duckdb(small_warehouse, tmp_path, monkeypatch):
    """With the memo warm, only hashes of every row leave DuckDB; whole rows only for those GX must see."""
    wh, _ = small_warehouse
    read = gx_validation._read
    whole_rows = []

    def tracked(con, sql, *, run_id):
        frame = read(con, sql, run_id=run_id)
        if "location" in frame.columns and "yoy_ratio" in frame.columns:  # observation rows, read whole
            whole_rows.append(frame.height)
        return frame

    monkeypatch.setattr(gx_validation, "_read", tracked)
    with wh.connect() as con:
        for run_id in ("run-1", "run-2"):
            whole_rows.clear()
            validate_warehouse(con, run_id=run_id, docs_dir=None, found_at=datetime(2026, 1, 1),
                               memo_dir=tmp_path / "memo")
            if run_id == "run-1":
                assert whole_rows == [6]  # nothing passed before: every row, read once
    assert whole_rows == [4]  # the four that failed (rows 4-7); rows 2 and 3 passed before
