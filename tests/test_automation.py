"""The code location loads, and the schedule and the sensor behave as operators expect."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs
from pipelines.defs.automation import JOB_NAME, nightly_schedule, raw_files_sensor


def test_code_location_loads_every_stage():
    d = defs()
    keys = {k.to_user_string() for k in d.resolve_asset_graph().get_all_asset_keys()}
    assert {"plan_documents", "extracted_facts", "statistics_files", "observations", "targets", "assessments",
            "warehouse_tables", "alerts", "report", "published_warehouse"} <= keys
    assert d.resolve_job_def(JOB_NAME) is not None


def test_schedule_runs_nightly_at_two_shanghai_time():
    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert nightly_schedule.execution_timezone == "Asia/Shanghai"
    assert nightly_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = dt.datetime(2026, 11, 24, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        data = nightly_schedule.evaluate_tick(context)
    assert len(data.run_requests) == 1
    assert data.run_requests[0].job_name in (None, JOB_NAME)


def test_sensor_requests_a_run_only_when_raw_files_change(planwatch_env):
    instance = dg.DagsterInstance.ephemeral()
    first = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert not first.run_requests and first.cursor  # first look records the folder

    unchanged = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert not unchanged.run_requests

    stats = planwatch_env["raw"] / "statistics" / "new_bulletin.csv"
    stats.write_text("region,indicator,year,value,unit\n张家港市,地区生产总值,2024,3500,亿元\n", encoding="utf-8")
    changed = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert len(changed.run_requests) == 1
    assert "statistics/new_bulletin.csv" in changed.run_requests[0].tags["planwatch/changed_files"]
    assert "statistics/new_bulletin.csv" in json.loads(changed.cursor)

    # The same change does not start a second run.
    again = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=changed.cursor))
    assert not again.run_requests


def test_sensor_ignores_lock_and_temporary_files(planwatch_env):
    instance = dg.DagsterInstance.ephemeral()
    first = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))

    statistics = planwatch_env["raw"] / "statistics"
    (statistics / "~$x.xlsx").write_bytes(b"owner file Excel writes while x.xlsx is open")
    (statistics / "x.csv.tmp").write_text("being saved", encoding="utf-8")
    opened = raw_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert not opened.run_requests
