"""The alert emails through the whole nightly job (Dagster, in process) against a real SMTP server
on localhost, judged by the messages the server received.

The raw folder is built here, so the statuses are known: a 十四五 plan of 张家港市 with four targets,
and statistics for 2020 (the base year) and 2021. GDP and PM2.5 are on track; the R&D share and the
forest coverage move away from their targets (off_track). The routing file is the embedded default:
张家港市 -> zjg-fgw, environment -> eco-monitor."""

from __future__ import annotations

import shutil
from email import message_from_bytes, policy
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from test_alerting import Inbox, PasswordCheck, free_port

from pipelines.config import Paths
from pipelines.runner import run_once, summarize

DEFAULT_RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
PLAN = """张家港市国民经济和社会发展第十四个五年规划纲要

第一章 主要目标

到2025年，全市地区生产总值达到4000亿元。
全社会研发经费支出占地区生产总值比重达到4%。
森林覆盖率达到20%。
细颗粒物(PM2.5)年均浓度控制在30微克/立方米以内。
"""
MANIFEST = """file,region,doc_type,period,year,title
zjg_plan.txt,张家港市,five_year_plan,十四五,2021,张家港市国民经济和社会发展第十四个五年规划纲要
"""
STAT_HEADER = "region,indicator_key,indicator_text,year,value,unit,source_title,source_url,source_note,quote\n"
STATS = [
    ("gdp", "地区生产总值", 2020, 2700, "亿元"), ("gdp", "地区生产总值", 2021, 3030, "亿元"),
    ("rd_expenditure_share_gdp", "研发经费支出占比", 2020, 3.0, "%"),
    ("rd_expenditure_share_gdp", "研发经费支出占比", 2021, 2.9, "%"),
    ("forest_coverage", "森林覆盖率", 2020, 18, "%"), ("forest_coverage", "森林覆盖率", 2021, 17, "%"),
    ("pm25_concentration", "PM2.5年均浓度", 2020, 40, "微克/立方米"),
    ("pm25_concentration", "PM2.5年均浓度", 2021, 36, "微克/立方米"),
]
ZJG, ECO = "zjg-fgw@planwatch.example", "eco-monitor@planwatch.example"


def stat_line(key: str, text: str, year: int, value: float, unit: str) -> str:
    return f"张家港市,{key},{text},{year},{value},{unit},张家港市国民经济和社会发展统计公报,,,\n"


@pytest.fixture
def alert_env(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "plans").mkdir(parents=True)
    (raw / "statistics").mkdir()
    shutil.copytree(DEFAULT_RAW / "reference", raw / "reference")
    shutil.copy(DEFAULT_RAW / "alert_routing.csv", raw / "alert_routing.csv")
    (raw / "plans" / "zjg_plan.txt").write_text(PLAN, encoding="utf-8")
    (raw / "plans" / "manifest.csv").write_text(MANIFEST, encoding="utf-8")
    (raw / "statistics" / "zjg_stats.csv").write_text(STAT_HEADER + "".join(stat_line(*s) for s in STATS),
                                                      encoding="utf-8")
    monkeypatch.setenv("PLANWATCH_RAW_DIR", str(raw))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    for name in ("PLANWATCH_SMTP_HOST", "PLANWATCH_SMTP_PORT", "PLANWATCH_SMTP_USER", "PLANWATCH_SMTP_PASSWORD",
                 "PLANWATCH_SMTP_SECURITY", "PLANWATCH_MAIL_FROM", "DAGSTER_HOME", "PLANWATCH_EXECUTOR"):
        monkeypatch.delenv(name, raising=False)
    return raw


@pytest.fixture
def smtp_inbox(monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("PLANWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANWATCH_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("PLANWATCH_MAIL_FROM", "planwatch@planwatch.example")
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def run() -> str:
    result = run_once()
    assert result.success
    return result.run_id


def received(inbox: Inbox) -> dict[str, object]:
    messages = inbox.take()
    by_recipient = {rcpts[0]: msg for rcpts, msg in messages}
    assert all(len(rcpts) == 1 for rcpts, _ in messages) and len(by_recipient) == len(messages)
    return by_recipient


def text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def alert_states() -> list[tuple]:
    with duckdb.connect(str(Paths.from_env().warehouse_db), read_only=True) as con:
        return con.execute("SELECT state, count(*) FROM alert GROUP BY state ORDER BY state").fetchall()


def test_first_run_sends_the_shortfalls_then_only_new_slips(alert_env, smtp_inbox):
    inbox, _ = smtp_inbox
    run()
    first = received(inbox)
    assert set(first) == {ZJG, ECO}
    assert first[ZJG]["Subject"] == "【Planwatch预警】张家港市：2项指标进度下滑"
    assert "全社会研发经费支出占地区生产总值比重" in text(first[ZJG]) and "森林覆盖率" in text(first[ZJG])
    assert "地区生产总值｜" not in text(first[ZJG]) and "PM2.5" not in text(first[ZJG])
    assert first[ECO]["Subject"] == "【Planwatch预警】张家港市：1项指标进度下滑" and "森林覆盖率" in text(first[ECO])
    assert "规划原文：“森林覆盖率达到20%”" in text(first[ECO])  # the plan's sentence

    run()  # same inputs: nothing new to say
    assert received(inbox) == {}

    with (alert_env / "statistics" / "zjg_stats.csv").open("a", encoding="utf-8") as f:
        f.write(stat_line("gdp", "地区生产总值", 2022, 2800, "亿元"))  # GDP falls behind its plan path
    run_id = run()
    third = received(inbox)
    assert list(third) == [ZJG]
    assert third[ZJG]["Subject"] == "【Planwatch预警】张家港市：1项指标进度下滑"
    body = text(third[ZJG])
    assert "张家港市｜地区生产总值" in body and "2800 亿元（2022年）" in body and "符合序时进度 → 滞后于序时进度" in body
    assert "森林覆盖率" not in body
    assert alert_states() == [("sent", 4)]
    assert "alerts                1 (sent 1)" in summarize(Paths.from_env(), run_id)


def test_server_down_keeps_alerts_pending_and_the_next_run_delivers_each_once(alert_env, smtp_inbox, monkeypatch):
    inbox, port = smtp_inbox
    monkeypatch.setenv("PLANWATCH_SMTP_PORT", str(free_port()))  # nothing listens there
    run_id = run()
    assert received(inbox) == {}
    assert alert_states() == [("pending", 3)]
    summary = summarize(Paths.from_env(), run_id)
    assert "alerts                3 (pending 3)" in summary and "not delivered       3 pending, retried next run" in summary

    monkeypatch.setenv("PLANWATCH_SMTP_PORT", str(port))
    run()
    assert sorted(received(inbox)) == [ECO, ZJG]
    assert alert_states() == [("sent", 3)]

    run()
    assert received(inbox) == {}


def test_without_smtp_host_the_emails_land_in_the_outbox(alert_env):
    outbox = Paths.from_env().outbox_dir
    run_id = run()
    files = sorted(outbox.glob("*.eml"))
    recipients = sorted(message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
                        for f in files)
    assert recipients == [ECO, ZJG]
    assert f"2 written to {outbox} as .eml" in summarize(Paths.from_env(), run_id)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_from_the_environment_and_the_password_is_never_logged_or_stored(alert_env, monkeypatch):
    secret = "pw-9f3c1e7a-never-logged"
    inbox, check = Inbox(), PasswordCheck("planwatch-bot", secret)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=check,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        for name, value in {"HOST": "127.0.0.1", "PORT": str(controller.port), "SECURITY": "none",
                            "USER": "planwatch-bot", "PASSWORD": secret}.items():
            monkeypatch.setenv(f"PLANWATCH_SMTP_{name}", value)
        result = run_once()
    finally:
        controller.stop()
    assert result.success and check.logins == 1
    assert sorted(received(inbox)) == [ECO, ZJG]
    logged = "\n".join(repr(event) for event in result.all_events) + repr(result.dagster_run)
    assert "planwatch-bot" in logged  # the user name is shown where mail goes ...
    assert secret not in logged  # ... the password never
    warehouse = Paths.from_env().warehouse_dir
    assert not any(secret.encode() in f.read_bytes() for f in warehouse.rglob("*") if f.is_file())
