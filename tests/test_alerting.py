"""Alert planning, routing, composition and delivery against a real warehouse file and a real SMTP
server (aiosmtpd on localhost). Assessment rows are written directly, one set per "run", so the
statuses are exactly the ones each scenario needs."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import duckdb
import polars as pl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipelines.lib.alerting import AlertOutputs, alert_summary, load_routing, run_alerts
from pipelines.lib.mail import MailSettings, one_line
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.warehouse import Warehouse

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "raw" / "reference"
ROUTING = """region,category,recipient,name
*,*,default@planwatch.example,规划处(默认)
张家港市,*,zjg@planwatch.example,张家港市发改委
*,environment,eco@planwatch.example,生态环境监测组
台州,innovation,tz-keji@planwatch.example,台州市科技局
连云港市,*,lyg@planwatch.example,连云港市发改委
海州区,*,not-an-address,坏地址
火星市,*,mars@planwatch.example,不存在的地区
*,astrology,stars@planwatch.example,不存在的类别
"""
# target_id -> region, indicator, binding, target value, comparator, unit, evidence
TARGETS = {
    "zjg_gdp": ("320582", "gdp", False, 3500.0, ">=", "亿元", "到2025年，地区生产总值达到3500亿元。"),
    "zjg_pm25": ("320582", "pm25_concentration", True, 35.0, "<=", "微克/立方米",
                 "PM2.5年均浓度控制在35微克/立方米以内<script>alert('x')</script> & 更低"),
    "zjg_rd": ("320582", "rd_expenditure_share_gdp", False, 3.5, ">=", "%", "研发经费支出占比达到3.5%。"),
    "hz_forest": ("320706", "forest_coverage", False, 30.0, ">=", "%", "森林覆盖率达到30%。"),
    "jj_rd": ("331002", "rd_expenditure_share_gdp", False, 3.0, ">=", "%", "研发投入强度达到3%。"),
    "sd_gdp": ("370000", "gdp", True, 100000.0, ">=", "亿元", "全省生产总值突破10万亿元。"),
}
WORKBOOK_BYTES = b"PK\x03\x04" + bytes(range(256))  # stands in for an .xlsx: any bytes must arrive unchanged
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST = {"zjg_gdp": "off_track", "zjg_pm25": "at_risk", "zjg_rd": "on_track", "hz_forest": "off_track",
         "jj_rd": "off_track", "sd_gdp": "off_track"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message the server accepted."""

    def __init__(self):
        self.received: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def take(self) -> list[tuple[list[str], object]]:
        taken, self.received = self.received, []
        return taken


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


class Scenario:
    """A staging warehouse with the reference tables, six targets and their documents; ``run``
    adds one run's assessments and calls run_alerts as the alerts asset would."""

    def __init__(self, root: Path, routing: str = ROUTING):
        self.root = root
        self.wh = Warehouse(root / "warehouse")
        self.wh.begin()
        self.routing = root / "alert_routing.csv"
        self.routing.write_text(routing, encoding="utf-8")
        self.outputs = AlertOutputs(reports_dir=root / "warehouse" / "reports", outbox_dir=root / "warehouse" / "outbox")
        self.clock = datetime(2026, 3, 1, 2, 0)
        targets = pl.DataFrame(
            [{"target_id": k, "region_code": r, "indicator_key": i, "binding": b, "target_value": v, "comparator": c,
              "unit": u, "evidence": e, "doc_id": "doc1", "line": n + 10, "kind": "target", "target_year": 2025,
              "baseline_year": 2020} for n, (k, (r, i, b, v, c, u, e)) in enumerate(TARGETS.items())])
        with self.wh.connect() as con:
            self.wh.append_rows(con, "region", load_regions(REFERENCE / "regions.csv"))
            self.wh.append_rows(con, "indicator", load_catalog(REFERENCE / "indicators.csv"))
            self.wh.append_rows(con, "document", pl.DataFrame(
                {"doc_id": ["doc1"], "file": ["plan.txt"], "title": ["某某市“十四五”规划纲要"]}))
            self.wh.append_rows(con, "target", targets)
            self.wh.create_views(con)

    def run(self, run_id: str, statuses: dict[str, str], mail: MailSettings, issues: list[dict] | None = None):
        self.clock += timedelta(days=1)
        frame = pl.DataFrame(
            [{"run_id": run_id, "assessed_at": self.clock, "target_id": t, "region_code": TARGETS[t][0],
              "indicator_key": TARGETS[t][1], "status": s, "latest_year": 2024, "latest_value": 1.25,
              "expected_value": 2.5, "severity": "critical" if TARGETS[t][2] and s == "off_track" else "normal",
              "rule": "path_ratio", "reason": f"完成进度低于时间进度（{t}）"} for t, s in statuses.items()])
        with self.wh.connect() as con:
            self.wh.append_rows(con, "assessment", frame)
            if issues:
                self.wh.append_rows(con, "validation_issue", pl.DataFrame(
                    [{"run_id": run_id, "severity": "error", "table_name": "observation", **i} for i in issues]))
            return run_alerts(con, run_id=run_id, routing_file=self.routing, mail=mail, outputs=self.outputs,
                              now=self.clock)

    def alerts(self) -> pl.DataFrame:
        with self.wh.connect() as con:
            return con.sql("SELECT * FROM alert ORDER BY created_at, alert_id").pl()


def smtp(port: int, **kw) -> MailSettings:
    return MailSettings.from_values("127.0.0.1", str(port), "none", kw.get("user"), kw.get("password"),
                                    "planwatch@planwatch.example")


def by_recipient(received) -> dict[str, object]:
    assert all(len(rcpts) == 1 for rcpts, _ in received), "one envelope recipient per email"
    out = {rcpts[0]: msg for rcpts, msg in received}
    assert len(out) == len(received), "one email per recipient per run"
    return out


def plain(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def html(msg) -> str:
    return msg.get_body(("html",)).get_content()


def test_routing_file_resolves_names_and_rejects_bad_rows(tmp_path):
    routing = tmp_path / "alert_routing.csv"
    extra = "张家港,*,\"a@b.example\nBcc: evil@x.example\",注入\n苏州,绿色生态,sz-eco@planwatch.example,\n"
    routing.write_bytes((ROUTING + extra).encode("gb18030"))  # as Excel saves it on a Chinese Windows
    regions = load_regions(REFERENCE / "regions.csv")
    categories = {c: c for c in load_catalog(REFERENCE / "indicators.csv")["category"].unique()} | {"绿色生态": "environment"}
    result = load_routing(routing, regions, categories)

    routes = {(r["region_code"], r["category"]): r["recipient"] for r in result.rows.to_dicts()}
    assert routes[("331000", "innovation")] == "tz-keji@planwatch.example"  # alias 台州
    assert routes[("320700", "*")] == "lyg@planwatch.example"
    assert routes[("320500", "environment")] == "sz-eco@planwatch.example"  # category by its Chinese label
    assert result.rows.filter(pl.col("is_default"))["recipient"].to_list() == ["default@planwatch.example"]
    rejected = {r["location"]: r["reason"] for r in result.rejected.to_dicts()}
    assert set(rejected) == {"row 7", "row 8", "row 9", "row 10"}
    assert "not-an-address" in rejected["row 7"]
    assert "火星市" in rejected["row 8"]
    assert "astrology" in rejected["row 9"]
    assert "CR or LF" in rejected["row 10"] or "not one valid" in rejected["row 10"]
    assert set(result.rejected["source_file"]) == {"alert_routing.csv"}

    missing = load_routing(tmp_path / "gone.csv", regions, categories)
    assert missing.rows.height == 0 and "gone.csv not found" in missing.rejected["reason"][0]


def test_slips_are_sent_once_grouped_binding_first_with_recoveries(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)
    mail = smtp(port)

    # Run 1: four targets first seen off_track; the at_risk and on_track ones are not slips.
    counts = scenario.run("run1", FIRST, mail)
    first = by_recipient(inbox.take())
    assert set(first) == {"zjg@planwatch.example", "lyg@planwatch.example", "eco@planwatch.example",
                          "tz-keji@planwatch.example", "default@planwatch.example"}
    assert counts["emails"] == 5 and counts["sent"] == 5 and counts["routes_rejected"] == 3
    assert "森林覆盖率" in plain(first["eco@planwatch.example"])  # category route, via 海州区
    assert "森林覆盖率" in plain(first["lyg@planwatch.example"])  # parent region route (连云港市 ⊃ 海州区)
    assert "研发" in plain(first["tz-keji@planwatch.example"])  # alias 台州 covers 椒江区
    assert "山东省" in first["default@planwatch.example"]["Subject"]  # no specific route: the default
    zjg = first["zjg@planwatch.example"]
    assert zjg["Subject"] == "【Planwatch预警】张家港市：1项指标进度下滑"
    assert "地区生产总值" in plain(zjg) and "PM2.5" not in plain(zjg)
    text = plain(zjg)
    for expected in ("首次评估 → 滞后于序时进度", "2025年不低于 3500 亿元", "1.25 亿元（2024年）", "2.5 亿元",
                     "到2025年，地区生产总值达到3500亿元。", "完成进度低于时间进度"):
        assert expected in text
    with duckdb.connect(str(scenario.wh.staging), read_only=True) as con:
        rejected = con.execute("SELECT location FROM rejected_row WHERE stage = 'alert_routing'").fetchall()
    assert len(rejected) == 3

    # Run 2: nothing changed, nothing sent.
    counts = scenario.run("run2", FIRST, mail)
    assert inbox.take() == [] and counts["planned"] == 0 and counts["emails"] == 0

    # Run 3: PM2.5 (binding) at_risk -> off_track and R&D on_track -> at_risk, both in Zhangjiagang.
    scenario.run("run3", {**FIRST, "zjg_pm25": "off_track", "zjg_rd": "at_risk"}, mail)
    third = by_recipient(inbox.take())
    assert set(third) == {"zjg@planwatch.example", "eco@planwatch.example"}
    zjg_text = plain(third["zjg@planwatch.example"])
    assert zjg_text.index("PM2.5") < zjg_text.index("研发")  # binding targets first
    assert "存在滞后风险 → 滞后于序时进度" in zjg_text and "符合序时进度 → 存在滞后风险" in zjg_text
    assert third["zjg@planwatch.example"]["Subject"] == "【Planwatch预警】张家港市：2项指标进度下滑"
    assert "研发" not in plain(third["eco@planwatch.example"])

    # Run 4: GDP back on track: a recovery notice to the one who got the slip, nobody else.
    counts = scenario.run("run4", {**FIRST, "zjg_pm25": "off_track", "zjg_rd": "at_risk", "zjg_gdp": "on_track"},
                          mail)
    fourth = by_recipient(inbox.take())
    assert set(fourth) == {"zjg@planwatch.example"}
    assert fourth["zjg@planwatch.example"]["Subject"] == "【Planwatch通知】张家港市：1项指标恢复正常"
    assert "滞后于序时进度 → 符合序时进度" in plain(fourth["zjg@planwatch.example"])

    # Run 5: GDP slips again after recovering: a new alert, although the same kind of change as run 1's.
    scenario.run("run5", {**FIRST, "zjg_pm25": "off_track", "zjg_rd": "at_risk"}, mail)
    fifth = by_recipient(inbox.take())
    assert set(fifth) == {"zjg@planwatch.example"} and "地区生产总值" in plain(fifth["zjg@planwatch.example"])

    alerts = scenario.alerts()
    assert alerts["alert_id"].is_unique().all()
    assert set(alerts["state"]) == {"sent"} and (alerts["attempts"] == 1).all()
    assert alerts.filter(pl.col("message_id").is_null() | pl.col("sent_at").is_null()).height == 0
    assert sorted(alerts["alert_type"].value_counts().rows()) == [("recovery", 1), ("slip", 9)]


def test_server_down_keeps_alerts_pending_and_next_run_delivers_each_once(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)

    down = scenario.run("run1", FIRST, smtp(free_port()))  # nothing listens there
    assert down["emails"] == 0 and down["emails_not_sent"] == 5 and down["pending"] == 5
    pending = scenario.alerts()
    assert set(pending["state"]) == {"pending"} and (pending["attempts"] == 1).all()
    assert pending["last_error"].str.contains("Connection refused|ConnectionRefused").all()
    assert inbox.take() == []

    up = scenario.run("run2", FIRST, smtp(port))
    delivered = inbox.take()
    assert len(delivered) == 5 and up["sent"] == 5
    assert sorted(r[0] for r, _ in delivered) == sorted(set(r[0] for r, _ in delivered))
    assert set(scenario.alerts()["state"]) == {"sent"}

    scenario.run("run3", FIRST, smtp(port))
    assert inbox.take() == []


def test_alert_whose_target_recovers_before_delivery_is_superseded_not_sent(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)
    scenario.run("run1", FIRST, smtp(free_port()))
    counts = scenario.run("run2", {**FIRST, "sd_gdp": "on_track"}, smtp(port))
    received = by_recipient(inbox.take())
    assert "default@planwatch.example" not in received  # its only alert was 山东 GDP: stale now
    assert counts["superseded"] == 1
    retired = scenario.alerts().filter(pl.col("target_id") == "sd_gdp")
    assert retired["state"].to_list() == ["superseded"]  # and no recovery: the slip never went out


def test_validation_error_holds_alerts_until_a_run_without_it(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)
    issues = [{"check_name": "observation_in_range", "region_code": "320582", "indicator_key": "gdp",
               "detail": "2024年地区生产总值 1.25 亿元 远低于往年"},
              {"check_name": "target_value_positive", "target_id": "sd_gdp", "detail": "目标值异常"}]
    counts = scenario.run("run1", FIRST, smtp(port), issues=issues)
    received = by_recipient(inbox.take())
    assert "zjg@planwatch.example" not in received and "default@planwatch.example" not in received
    assert counts["held"] == 2 and counts["sent"] == 3
    held = scenario.alerts().filter(pl.col("state") == "held")
    assert set(held["target_id"]) == {"zjg_gdp", "sd_gdp"}
    assert held.filter(pl.col("target_id") == "zjg_gdp")["hold_reason"][0].startswith(
        "validation error: observation_in_range (2024年地区生产总值")
    with scenario.wh.connect() as con:
        summary = alert_summary(con, "run1", scenario.outputs.outbox_dir)
    assert summary[0] == "alerts                5 (held 2, sent 3)"
    assert [line.split(":")[0] for line in summary if line.strip().startswith("held")] == [
        "  held                山东省 地区生产总值 -> default@planwatch.example",
        "  held                张家港市 地区生产总值 -> zjg@planwatch.example"]

    scenario.run("run2", FIRST, smtp(port))  # the data were fixed: no issue this run
    released = by_recipient(inbox.take())
    assert set(released) == {"zjg@planwatch.example", "default@planwatch.example"}
    assert set(scenario.alerts()["state"]) == {"sent"}


def test_alert_of_a_target_whose_assessment_was_quarantined_waits_instead_of_retiring(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)
    scenario.run("run1", FIRST, smtp(free_port()))  # server down: every alert pending
    # Run 2: 山东 GDP's assessment broke the model, so it is not in the table; its issue names the target.
    # 椒江 R&D is simply not assessed any more (no issue): stale news.
    broken = {"check_name": "time_progress:greater_than_or_equal_to", "target_id": "sd_gdp",
              "detail": "assessment, target sd_gdp: time_progress=-0.5"}
    scenario.run("run2", {t: s for t, s in FIRST.items() if t not in ("sd_gdp", "jj_rd")}, smtp(port),
                 issues=[broken])
    assert not {"default@planwatch.example", "tz-keji@planwatch.example"} & set(by_recipient(inbox.take()))
    states = dict(scenario.alerts().filter(pl.col("target_id").is_in(["sd_gdp", "jj_rd"]))
                  .select("target_id", "state").iter_rows())
    assert states == {"sd_gdp": "held", "jj_rd": "superseded"}
    scenario.run("run3", FIRST, smtp(port))  # assessed again, no issue: it goes out
    assert [r for r, _ in inbox.take()] == [["default@planwatch.example"]]


def test_no_route_at_all_holds_the_alert_until_routing_names_someone(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path, routing="region,category,recipient,name\n*,*,nobody,坏地址\n")
    counts = scenario.run("run1", {"sd_gdp": "off_track"}, smtp(port))
    assert inbox.take() == [] and counts["held"] == 1
    assert "no valid route" in scenario.alerts()["hold_reason"][0]

    scenario.routing.write_text(ROUTING, encoding="utf-8")
    scenario.run("run2", {"sd_gdp": "off_track"}, smtp(port))
    assert [r for r, _ in inbox.take()] == [["default@planwatch.example"]]
    assert sorted(scenario.alerts()["state"].to_list()) == ["sent", "superseded"]


def test_document_text_is_escaped_and_cannot_inject_headers(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path, routing=ROUTING.replace("张家港市,*", "320582,*"))
    with scenario.wh.connect() as con:  # a region name with a header-injection attempt
        con.execute("UPDATE region SET name_zh = '张家港市\r\nBcc: evil@x.example' WHERE region_code = '320582'")
    scenario.run("run1", {"zjg_pm25": "off_track"}, smtp(port))
    received = inbox.take()
    assert sorted(r[0] for r, _ in received) == ["eco@planwatch.example", "zjg@planwatch.example"]
    for _, msg in received:
        assert msg["Bcc"] is None and "\n" not in msg["Subject"]
        assert "张家港市 Bcc: evil@x.example" in msg["Subject"]  # flattened into the subject, harmless
        body = html(msg)
        assert "<script>" not in body and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 更低" in body
        assert "<script>alert('x')</script> & 更低" in plain(msg)  # plain text carries it verbatim


def test_without_smtp_host_emails_go_to_the_outbox_once(tmp_path):
    scenario = Scenario(tmp_path)
    (scenario.outputs.reports_dir).mkdir(parents=True)
    (scenario.outputs.reports_dir / "index.html").write_text("<html></html>", encoding="utf-8")
    (scenario.outputs.reports_dir / "320582.xlsx").write_bytes(WORKBOOK_BYTES)
    counts = scenario.run("run1", FIRST, MailSettings())
    files = sorted(scenario.outputs.outbox_dir.glob("*.eml"))
    assert counts["emails"] == 5 and len(files) == 5 and counts["delivery"].startswith("outbox")
    alerts = scenario.alerts()
    assert set(alerts["delivered_via"]) == {"outbox"} and alerts["outbox_file"].is_not_null().all()
    zjg = next(f for f in files if f.name.startswith("zjg_planwatch.example_"))
    msg = message_from_bytes(zjg.read_bytes(), policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "zjg@planwatch.example"
    assert "file://" not in html(msg)  # a path on the pipeline host opens nowhere else: the table is attached
    assert [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()] == [
        ("张家港市指标完成情况表_320582.xlsx", WORKBOOK_BYTES)]
    assert f"- 评估报告(HTML)：{scenario.outputs.reports_dir / 'index.html'}" in plain(msg)
    assert msg["Message-ID"] == alerts.filter(pl.col("target_id") == "zjg_gdp")["message_id"][0]

    with scenario.wh.connect() as con:
        summary = alert_summary(con, "run1", scenario.outputs.outbox_dir)
    assert f"  emails              5 written to {scenario.outputs.outbox_dir} as .eml (no SMTP host set), " \
           "carrying 5 alert(s)" in summary

    scenario.run("run2", FIRST, MailSettings())
    assert sorted(scenario.outputs.outbox_dir.glob("*.eml")) == files  # nothing new, nothing duplicated


def test_each_email_carries_the_evaluation_tables_of_its_regions(tmp_path, smtp_server):
    inbox, port = smtp_server
    scenario = Scenario(tmp_path)
    reports = scenario.outputs.reports_dir
    reports.mkdir(parents=True)
    (reports / "index.html").write_text("<html></html>", encoding="utf-8")
    (reports / "320582.xlsx").write_bytes(WORKBOOK_BYTES)  # 张家港市
    (reports / "320706.xlsx").write_bytes(WORKBOOK_BYTES[::-1])  # 海州区
    scenario.run("run1", FIRST, smtp(port))
    received = by_recipient(inbox.take())

    def attached(recipient: str) -> list[tuple[str, str, bytes]]:
        return [(a.get_filename(), a.get_content_type(), a.get_content())
                for a in received[recipient].iter_attachments()]

    assert attached("zjg@planwatch.example") == [("张家港市指标完成情况表_320582.xlsx", XLSX_TYPE, WORKBOOK_BYTES)]
    assert attached("eco@planwatch.example") == [("海州区指标完成情况表_320706.xlsx", XLSX_TYPE, WORKBOOK_BYTES[::-1])]
    assert attached("default@planwatch.example") == []  # 山东省 has no table this run
    zjg = received["zjg@planwatch.example"]
    assert "附件：张家港市指标完成情况表_320582.xlsx" in plain(zjg) and "附件：张家港市指标完成情况表_320582.xlsx" in html(zjg)
    # Staff on the pipeline host still find the files by their paths; nobody gets a file:// link.
    lines = plain(zjg).splitlines()
    place = lines.index("报告位置（Planwatch 主机上的文件）：")
    assert lines[place + 1:place + 3] == [f"- 评估报告(HTML)：{reports / 'index.html'}",
                                          f"- 张家港市指标完成情况表(Excel)：{reports / '320582.xlsx'}"]
    assert str(reports / "320582.xlsx") in html(zjg) and "file://" not in html(zjg) and "href" not in html(zjg)


@pytest.fixture
def berlin_clock(monkeypatch):
    """The pipeline host's clock in Berlin (UTC+1 in March): its naive local times are Berlin time."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_emails_show_beijing_time_whatever_the_hosts_zone(tmp_path, berlin_clock):
    scenario = Scenario(tmp_path)
    scenario.run("run1", {"sd_gdp": "off_track"}, MailSettings())  # the clock reads 2026-03-02 02:00 (Berlin)
    msg = message_from_bytes(next(scenario.outputs.outbox_dir.glob("*.eml")).read_bytes(), policy=policy.default)
    for body in (plain(msg), html(msg)):
        assert "Planwatch 于 2026-03-02 09:00（北京时间）完成本次评估" in body  # 01:00 UTC
    assert msg["Date"].datetime == datetime(2026, 3, 2, 2, 0).astimezone()


class PasswordCheck:
    def __init__(self, user: str, password: str):
        self.user, self.password, self.logins = user.encode(), password.encode(), 0

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == self.user and auth_data.password == self.password
        self.logins += ok
        return AuthResult(success=ok, handled=False)  # False: the server answers 535


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_password_is_used_but_never_stored_or_shown(tmp_path):
    inbox, secret = Inbox(), "s3cr3t-Passw0rd!"
    check = PasswordCheck("planwatch", secret)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=check,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        scenario = Scenario(tmp_path)
        settings = smtp(controller.port, user="planwatch", password=secret)
        counts = scenario.run("run1", {"sd_gdp": "off_track"}, settings)
        assert check.logins == 1 and len(inbox.take()) == 1
        wrong = smtp(controller.port, user="planwatch", password="wrong")
        scenario.run("run2", {"sd_gdp": "off_track", "zjg_gdp": "off_track"}, wrong)
    finally:
        controller.stop()
    assert secret not in repr(settings) and secret not in settings.describe() and secret not in str(counts)
    alerts = scenario.alerts()
    assert alerts.filter(pl.col("target_id") == "zjg_gdp")["state"].to_list() == ["failed"]  # 535: refused
    assert "535" in alerts.filter(pl.col("target_id") == "zjg_gdp")["last_error"][0]
    with duckdb.connect(str(scenario.wh.staging), read_only=True) as con:
        dump = str(con.execute("SELECT * FROM alert").fetchall()) + str(con.execute("SELECT * FROM rejected_row")
                                                                         .fetchall())
    assert secret not in dump and "wrong" not in dump


def test_bad_mail_settings_keep_alerts_pending_with_the_reason(tmp_path):
    scenario = Scenario(tmp_path)
    counts = scenario.run("run1", {"sd_gdp": "off_track"}, MailSettings.from_values(
        "127.0.0.1", "25", "tls-please", None, None, None))
    assert counts["pending"] == 1 and "PLANWATCH_SMTP_SECURITY" in counts["delivery"]
    assert "PLANWATCH_SMTP_SECURITY" in scenario.alerts()["last_error"][0]


def test_one_line_flattens_every_line_break():
    assert one_line("a\r\nb\u2028c\x85d\te  ") == "a b c d e"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_encrypted_delivery_verifies_the_server_certificate(tmp_path, monkeypatch, security):
    import ssl

    cert_file, key_file = self_signed_certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    options = {"tls_context": server_tls, "require_starttls": True} if security == "starttls" else \
        {"ssl_context": server_tls}
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        scenario = Scenario(tmp_path)
        settings = MailSettings.from_values("127.0.0.1", str(controller.port), security, None, None, None)
        untrusted = scenario.run("run1", {"sd_gdp": "off_track"}, settings)  # self-signed: refused
        assert untrusted["pending"] == 1 and "CERTIFICATE_VERIFY_FAILED" in scenario.alerts()["last_error"][0]
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # now the client trusts it
        trusted = scenario.run("run2", {"sd_gdp": "off_track"}, settings)
    finally:
        controller.stop()
    assert trusted["sent"] == 1 and [r for r, _ in inbox.take()] == [["default@planwatch.example"]]
