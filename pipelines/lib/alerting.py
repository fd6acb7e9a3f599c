"""Alerts on slips: who gets what, the emails, and their delivery state.

A run's alerts come from the assessment history in the staging warehouse:
- slip: the target's status got worse since the previous run that assessed it
  (achieved/on_track < at_risk < off_track); a target first judged off_track is a slip too;
  insufficient_data is never a slip.
- recovery: the target is back on track or achieved, and the last alert sent about it to a
  recipient was a slip: that recipient hears that it recovered.
Routing (alert_routing.csv, edited by analysts): region (name, alias or code; also covers the
region's subdivisions) and indicator category, '*' for any; the '*,*' row is the default and gets
only what no other row covers. Each row of the ``alert`` table is one status change for one
recipient; its id is a hash, so a re-run finds it instead of adding it. Open rows (pending,
failed, held) are retried every run while the target still has the status they report,
and retired as superseded once it has not. One email per recipient and run lists all of
that recipient's alerts, binding targets first, with the evaluation table (.xlsx) of each region
it names attached (recipients cannot open paths on the pipeline host; the paths are still listed,
as 报告位置, for staff there). Times in the emails are Beijing time (Asia/Shanghai).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.formatting import template_environment
from pipelines.lib.mail import (
    Attachment,
    Delivery,
    MailSettings,
    address_problem,
    compose,
    deliver,
    one_line,
    parse_address,
)
from pipelines.lib.reading import UnreadableDocument, read_analyst_csv
from pipelines.lib.reference import resolve_region
from pipelines.lib.report import REPORT_PAGE, workbook_name
from pipelines.lib.stage import StageResult, rejected_frame
from pipelines.lib.warehouse import Warehouse

ANY = "*"
ROUTING_COLUMNS = ["region", "category", "recipient", "name"]
ROUTE_SCHEMA = {"region_code": pl.String, "category": pl.String, "recipient": pl.String, "name": pl.String,
                "is_default": pl.Boolean}
NO_RECIPIENT = ""
TEMPLATES = template_environment()
XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class AlertOutputs:
    """Where the report files the emails carry lie, and where the emails go without SMTP."""

    reports_dir: Path
    outbox_dir: Path


# ---------------------------------------------------------------------------------------------- routing

def load_routing(path: Path, regions: pl.DataFrame, categories: dict[str, str]) -> StageResult:
    """Routes from alert_routing.csv (UTF-8 or GB18030, as Excel saves it). ``categories`` maps every
    name a category goes by (code or Chinese label) to its code. Rows naming an unknown region or
    category, or not one valid address, are rejected with the reason (the others still route)."""
    raw, problem = _read_routing_file(path)
    if problem:
        return StageResult(pl.DataFrame(schema=ROUTE_SCHEMA), rejected_frame([{
            "source_file": path.name, "location": "file", "stage": "alert_routing", "raw": None,
            "reason": f"{problem}; alerts without a recipient are held until the file names at least a "
                      f"default ('*,*') recipient"}]))
    rows = (
        raw.select(ROUTING_COLUMNS)
        .with_row_index("row", offset=2)  # line 1 is the header
        .with_columns(pl.col(c).fill_null("").str.strip_chars() for c in ROUTING_COLUMNS)
        .with_columns(pl.when(pl.col(c) == "").then(pl.lit(ANY)).otherwise(pl.col(c)).alias(c)
                      for c in ("region", "category"))
        .pipe(resolve_region, "region", regions)
        .with_columns(
            pl.when(pl.col("region") == ANY).then(pl.lit(ANY)).otherwise(pl.col("region_code")).alias("region_code"),
            pl.when(pl.col("category") == ANY).then(pl.lit(ANY))
            .otherwise(pl.col("category").replace_strict(categories, default=None)).alias("category_code"),
            pl.col("recipient").map_elements(address_problem, return_dtype=pl.String).alias("address_problem"),
        )
        .with_columns(
            pl.when(pl.col("region_code").is_null())
            .then(pl.coalesce("region_ambiguity", pl.format(
                "region '{}' is neither a region name, alias nor code of regions.csv", "region")))
            .when(pl.col("category_code").is_null())
            .then(pl.format("category '{}' is not an indicator category ({})", "category",
                            pl.lit(", ".join(sorted(set(categories.values()))))))
            .otherwise(pl.col("address_problem"))
            .alias("reason")
        )
        .sort("row")
    )
    bad = rows.filter(pl.col("reason").is_not_null())
    rejected = bad.select(
        pl.lit(path.name).alias("source_file"), pl.format("row {}", "row").alias("location"),
        pl.lit("alert_routing").alias("stage"), "reason",
        pl.concat_str(ROUTING_COLUMNS, separator=",").alias("raw"),
    )
    routes = rows.filter(pl.col("reason").is_null()).select(
        "region_code", pl.col("category_code").alias("category"), "recipient", pl.col("name").replace("", None),
        ((pl.col("region_code") == ANY) & (pl.col("category_code") == ANY)).alias("is_default"),
    ).unique(maintain_order=True)
    return StageResult(routes.cast(ROUTE_SCHEMA), rejected)


def _read_routing_file(path: Path) -> tuple[pl.DataFrame | None, str | None]:
    """The routing table as strings, or why it cannot be read."""
    if not path.exists():
        return None, f"{path} not found"
    try:
        raw = read_analyst_csv(path)
    except (UnreadableDocument, pl.exceptions.PolarsError) as exc:
        return None, f"{path.name} cannot be read as CSV: {one_line(str(exc))[:200]}"
    missing = [c for c in ROUTING_COLUMNS if c not in raw.columns]
    if missing:
        return None, (f"{path.name} lacks column(s) {', '.join(missing)}; the header must be "
                      f"{','.join(ROUTING_COLUMNS)}")
    return raw, None


# ---------------------------------------------------------------------------------------------- planning

# The latest run's status changes: status_before comes from the previous run that assessed the target.
# Runs are ordered as v_latest_run orders them. Most targets were judged by the run just before the latest,
# so only the few it did not judge (new, or quarantined then) are looked up in the rest of the history:
# the history grows by a whole country's assessments every night, and a window over all of it took
# seconds at national size after a few weeks.
_CHANGES = """
    latest_run AS (SELECT run_id FROM v_latest_run),
    previous_run AS (
        SELECT run_id FROM (SELECT run_id, max(assessed_at) AS assessed_at FROM assessment GROUP BY run_id)
        WHERE run_id <> (SELECT run_id FROM latest_run)
        ORDER BY assessed_at DESC NULLS LAST, run_id DESC LIMIT 1),
    latest AS (
        SELECT target_id, any_value(status) AS status FROM assessment
        WHERE run_id = (SELECT run_id FROM latest_run) GROUP BY target_id),
    previous AS (
        SELECT target_id, any_value(status) AS status, any_value(run_id) AS run_id FROM assessment
        WHERE run_id = (SELECT run_id FROM previous_run) GROUP BY target_id),
    older AS (
        SELECT target_id, status, run_id FROM (
            SELECT target_id, run_id, any_value(status) AS status,
                   row_number() OVER (PARTITION BY target_id
                                      ORDER BY max(assessed_at) DESC NULLS LAST, run_id DESC) AS back
            FROM assessment
            WHERE run_id <> (SELECT run_id FROM latest_run)
              AND target_id IN (SELECT target_id FROM latest ANTI JOIN previous USING (target_id))
            GROUP BY target_id, run_id)
        WHERE back = 1),
    changes AS (
        SELECT l.target_id, b.status AS status_before, l.status AS status_after,
               coalesce(b.run_id, '') AS previous_run_id
        FROM latest l LEFT JOIN (SELECT * FROM previous UNION ALL SELECT * FROM older) b USING (target_id)
        WHERE l.status IS DISTINCT FROM b.status),
    status_rank(status, rank) AS (
        VALUES ('achieved', 0), ('on_track', 0), ('at_risk', 1), ('off_track', 2))
"""

_ALERT_ID = ("left(sha256(concat_ws('|', {a}.target_id, coalesce({a}.status_before, ''), {a}.status_after, "
             "{a}.recipient, {a}.previous_run_id)), 16)")

# Slips of the latest run, plus earlier slips still held for want of a recipient (routing may have been
# fixed since), each routed to every recipient of a matching route; the default route when none matches.
_ROUTED_SLIPS = f"""
WITH RECURSIVE
    ancestry(region_code, ancestor) AS (
        SELECT region_code, region_code FROM region
        UNION
        SELECT a.region_code, r.parent_code FROM ancestry a JOIN region r ON r.region_code = a.ancestor
        WHERE coalesce(r.parent_code, '') <> ''),
    {_CHANGES},
    slips AS (
        SELECT c.* FROM changes c
        LEFT JOIN status_rank b ON b.status = c.status_before
        JOIN status_rank a ON a.status = c.status_after
        WHERE a.rank > coalesce(b.rank, 1)  -- first judged (no rank before) counts only when off_track
        UNION
        SELECT u.target_id, u.status_before, u.status_after, u.previous_run_id
        FROM alert u JOIN latest h ON h.target_id = u.target_id AND h.status = u.status_after
        WHERE u.recipient = '{NO_RECIPIENT}' AND u.state = 'held'),
    subject AS (
        SELECT s.*, t.region_code, i.category
        FROM slips s JOIN target t USING (target_id) LEFT JOIN indicator i USING (indicator_key)),
    specific AS (
        SELECT DISTINCT s.target_id, r.recipient, r.name
        FROM subject s
        LEFT JOIN ancestry a ON a.region_code = s.region_code
        JOIN _routes r ON NOT r.is_default
            AND (r.region_code = '{ANY}' OR r.region_code = a.ancestor)
            AND (r.category = '{ANY}' OR r.category = s.category)),
    fallback AS (
        SELECT s.target_id, r.recipient, r.name
        FROM subject s JOIN _routes r ON r.is_default
        WHERE s.target_id NOT IN (SELECT target_id FROM specific)),
    routed AS (
        SELECT target_id, recipient, min(name) AS recipient_name
        FROM (SELECT * FROM specific UNION ALL SELECT * FROM fallback) GROUP BY ALL)
SELECT s.target_id, s.status_before, s.status_after, s.previous_run_id, 'slip' AS alert_type,
       coalesce(r.recipient, '{NO_RECIPIENT}') AS recipient, r.recipient_name
FROM subject s LEFT JOIN routed r USING (target_id)
"""

# Recoveries of the latest run: to each recipient whose last alert sent about the target was a slip.
_RECOVERIES = f"""
WITH {_CHANGES},
    last_sent AS (
        SELECT target_id, recipient, arg_max(alert_type, sent_at) AS alert_type,
               arg_max(recipient_name, sent_at) AS recipient_name
        FROM alert WHERE state = 'sent' GROUP BY target_id, recipient)
SELECT c.target_id, c.status_before, c.status_after, c.previous_run_id, 'recovery' AS alert_type,
       l.recipient, l.recipient_name
FROM changes c JOIN last_sent l USING (target_id)
WHERE c.status_after IN ('on_track', 'achieved') AND l.alert_type = 'slip'
"""


def plan_alerts(con: duckdb.DuckDBPyConnection, routes: pl.DataFrame, *, run_id: str, now: datetime) -> int:
    """Add this run's new alerts (slips and recoveries) to the alert table; returns how many were new."""
    before = con.execute("SELECT count(*) FROM alert").fetchall()[0][0]
    con.register("_routes", routes.to_arrow())
    try:
        con.execute(f"""
            INSERT INTO alert BY NAME
            SELECT {_ALERT_ID.format(a='c')} AS alert_id, ? AS run_id, ? AS last_run_id, c.*,
                   CASE WHEN c.recipient = '{NO_RECIPIENT}' THEN 'held' ELSE 'pending' END AS state,
                   CASE WHEN c.recipient = '{NO_RECIPIENT}'
                        THEN 'alert_routing.csv has no valid route (not even a default ''*,*'' row) for this target'
                   END AS hold_reason,
                   0 AS attempts, ?::TIMESTAMP AS created_at
            FROM (({_ROUTED_SLIPS}) UNION ALL ({_RECOVERIES})) c
            WHERE {_ALERT_ID.format(a='c')} NOT IN (SELECT alert_id FROM alert)
        """, [run_id, run_id, now])
    finally:
        con.unregister("_routes")
    # A slip that waited for a recipient and now has one is carried by the routed rows.
    con.execute(f"""
        UPDATE alert u SET state = 'superseded', last_run_id = ?,
               hold_reason = 'routed since: see the rows of the same target with a recipient'
        WHERE u.recipient = '{NO_RECIPIENT}' AND u.state = 'held' AND EXISTS (
            SELECT 1 FROM alert r WHERE r.recipient <> '{NO_RECIPIENT}' AND r.target_id = u.target_id
              AND r.status_before IS NOT DISTINCT FROM u.status_before AND r.status_after = u.status_after
              AND r.previous_run_id = u.previous_run_id)
    """, [run_id])
    return con.execute("SELECT count(*) FROM alert").fetchall()[0][0] - before


def review_open_alerts(con: duckdb.DuckDBPyConnection, *, run_id: str) -> None:
    """Retire open alerts whose news is stale; hold those blocked by this run's validation errors."""
    con.execute("""
        UPDATE alert u SET state = 'superseded', last_run_id = $run,
               hold_reason = 'the target''s status changed again before this alert went out: '
                             || coalesce(cur.status, 'no longer assessed')
        FROM alert a
        LEFT JOIN (SELECT x.target_id, x.status FROM assessment x JOIN v_latest_run lr ON lr.run_id = x.run_id) cur
            ON cur.target_id = a.target_id
        WHERE u.alert_id = a.alert_id AND a.state IN ('pending', 'failed', 'held')
          AND CASE a.alert_type WHEN 'recovery' THEN coalesce(cur.status NOT IN ('on_track', 'achieved'), true)
                                ELSE cur.status IS DISTINCT FROM a.status_after END
          -- Not assessed because this run's assessment of it was quarantined: not stale news; held below.
          AND NOT (cur.status IS NULL AND a.target_id IN (
              SELECT target_id FROM validation_issue
              WHERE run_id = $run AND severity = 'error' AND target_id IS NOT NULL))
    """, {"run": run_id})
    # An error-severity validation issue of this run on the target, or on its region and indicator,
    # holds the alert back; it goes out on the first run without one.
    con.execute(f"""
        UPDATE alert u SET
            state = CASE WHEN b.reason IS NOT NULL OR u.recipient = '{NO_RECIPIENT}' THEN 'held' ELSE 'pending' END,
            hold_reason = CASE WHEN b.reason IS NOT NULL THEN 'validation error: ' || b.reason
                               WHEN u.recipient = '{NO_RECIPIENT}' THEN u.hold_reason END,
            last_run_id = $run
        FROM alert a
        LEFT JOIN (
            SELECT t.target_id, string_agg(DISTINCT v.check_name || ' (' || coalesce(v.detail, '') || ')', '; ')
                   AS reason
            FROM target t JOIN validation_issue v
              ON v.run_id = $run AND v.severity = 'error'
             AND (v.target_id = t.target_id
                  OR (v.region_code = t.region_code AND v.indicator_key = t.indicator_key))
            GROUP BY t.target_id) b ON b.target_id = a.target_id
        WHERE u.alert_id = a.alert_id AND a.state IN ('pending', 'failed', 'held')
          AND (b.reason IS NOT NULL OR a.state = 'held')
    """, {"run": run_id})


# ---------------------------------------------------------------------------------------------- emails

_DUE = """
SELECT a.alert_id, a.recipient, a.recipient_name, a.alert_type, a.status_before, a.status_after,
       coalesce(lb.label_zh, '首次评估') AS status_before_zh, la.label_zh AS status_after_zh,
       s.region_code, s.region_name, s.indicator_name, s.unit, s.binding, s.attribute, s.comparator,
       s.target_year, s.target_value, s.latest_year, s.latest_value, s.expected_value,
       s.severity, s.severity_zh, s.reason, s.rule, s.evidence, s.doc_title, s.doc_file, s.line
FROM alert a
JOIN v_target_status s USING (target_id)
LEFT JOIN v_label lb ON lb.kind = 'status' AND lb.code = a.status_before
LEFT JOIN v_label la ON la.kind = 'status' AND la.code = a.status_after
LEFT JOIN v_label sev ON sev.kind = 'severity' AND sev.code = s.severity
WHERE a.state IN ('pending', 'failed')
ORDER BY a.recipient, a.alert_type DESC, s.binding DESC NULLS LAST, sev.sort_order NULLS LAST,
         la.sort_order DESC, s.region_code, s.indicator_name, s.target_year, a.alert_id
"""


@dataclass(frozen=True)
class Email:
    key: str  # safe file name stem and Message-ID part; follows from the alerts it carries
    recipient: str
    alert_ids: list[str]
    message: EmailMessage


def due_emails(con: duckdb.DuckDBPyConnection, settings: MailSettings, outputs: AlertOutputs,
               *, now: datetime) -> list[Email]:
    """One email per recipient with every alert of theirs that is pending or failed."""
    due = con.sql(_DUE).pl()
    sender = parse_address(settings.mail_from, "Planwatch 规划监测")
    return [
        _email(group, sender, outputs, now)
        for group in due.partition_by("recipient", maintain_order=True)
    ]


def _email(alerts: pl.DataFrame, sender, outputs: AlertOutputs, now: datetime) -> Email:
    recipient = alerts["recipient"][0]
    alert_ids = alerts["alert_id"].to_list()
    digest = hashlib.sha256("|".join(sorted(alert_ids)).encode()).hexdigest()[:16]
    key = f"{re.sub(r'[^A-Za-z0-9._-]', '_', recipient)}_{digest}"
    rows = alerts.to_dicts()
    slips = [r for r in rows if r["alert_type"] == "slip"]
    recoveries = [r for r in rows if r["alert_type"] == "recovery"]
    regions = list(dict.fromkeys(r["region_name"] or r["region_code"] or "未知地区" for r in rows))
    places, attachments = _report_files(outputs.reports_dir, alerts)
    context = {
        "recipient_name": alerts["recipient_name"][0],
        "slips": slips,
        "recoveries": recoveries,
        "regions": regions,
        "report_places": places,
        "attachments": [a.filename for a in attachments],
        "generated_at": now,
    }
    message = compose(
        key=key, sender=sender, recipient=parse_address(recipient, alerts["recipient_name"][0]),
        subject=_subject(regions, len(slips), len(recoveries)),
        text=TEMPLATES.get_template("alert_email.txt").render(context),
        html=TEMPLATES.get_template("alert_email.html").render(context),
        when=now, attachments=attachments,
    )
    return Email(key, recipient, alert_ids, message)


def _subject(regions: list[str], slips: int, recoveries: int) -> str:
    place = "、".join(one_line(r) for r in regions[:2]) + (f"等{len(regions)}地" if len(regions) > 2 else "")
    news = [f"{slips}项指标进度下滑"] if slips else []
    news += [f"{recoveries}项指标恢复正常"] if recoveries else []
    return f"【Planwatch{'预警' if slips else '通知'}】{place}：{'，'.join(news)}"


def _report_files(reports_dir: Path, alerts: pl.DataFrame) -> tuple[list[dict[str, str]], tuple[Attachment, ...]]:
    """Where this run's report lies on the pipeline host (a path only staff there can open), and the
    evaluation table (.xlsx) of each region in the email as an attachment, which every recipient can."""
    places = []
    if (reports_dir / REPORT_PAGE).exists():
        places.append({"label": "评估报告(HTML)", "path": str(reports_dir / REPORT_PAGE)})
    attachments = []
    regions = alerts.select("region_code", "region_name").unique(maintain_order=True).drop_nulls("region_code")
    for code, name in regions.iter_rows():
        table = reports_dir / workbook_name(code)
        if table.exists():
            title = f"{name or code}指标完成情况表"
            places.append({"label": f"{title}(Excel)", "path": str(table)})
            attachments.append(Attachment(_file_name(f"{title}_{code}.xlsx"), table.read_bytes(), *XLSX_MIME))
    return places, tuple(attachments)


def _file_name(name: str) -> str:
    """An attachment name every mail client and file system takes: one line, no path or reserved characters."""
    return re.sub(r'[\\/:*?"<>|]', "_", one_line(name))


# ---------------------------------------------------------------------------------------------- state

def record_deliveries(con: duckdb.DuckDBPyConnection, emails: list[Email], deliveries: list[Delivery],
                      *, run_id: str, now: datetime) -> None:
    """Write each alert's outcome: sent (with message id and when), or still pending/failed with the error."""
    by_key = {d.key: d for d in deliveries}
    outcome = pl.DataFrame(
        [{"alert_id": alert_id, "state": by_key[e.key].state, "delivered_via": by_key[e.key].via,
          "message_id": by_key[e.key].message_id, "last_error": by_key[e.key].error,
          "outbox_file": by_key[e.key].outbox_file}
         for e in emails for alert_id in e.alert_ids],
        schema={"alert_id": pl.String, "state": pl.String, "delivered_via": pl.String, "message_id": pl.String,
                "last_error": pl.String, "outbox_file": pl.String},
    )
    if outcome.height == 0:
        return
    con.register("_outcome", outcome.to_arrow())
    try:
        con.execute("""
            UPDATE alert a SET state = o.state, attempts = coalesce(a.attempts, 0) + 1, last_error = o.last_error,
                   message_id = o.message_id, delivered_via = o.delivered_via, outbox_file = o.outbox_file,
                   sent_at = CASE WHEN o.state = 'sent' THEN ?::TIMESTAMP END, last_run_id = ?
            FROM _outcome o WHERE a.alert_id = o.alert_id
        """, [now, run_id])
    finally:
        con.unregister("_outcome")


def run_alerts(con: duckdb.DuckDBPyConnection, *, run_id: str, routing_file: Path, mail: MailSettings,
               outputs: AlertOutputs, now: datetime | None = None) -> dict[str, int | str]:
    """Plan this run's alerts from the assessment history, deliver every due one, record state."""
    now = now or datetime.now()
    regions = con.sql("SELECT * FROM region").pl()
    categories = dict(con.execute("""
        SELECT category, category FROM indicator WHERE category IS NOT NULL
        UNION SELECT label_zh, code FROM v_label WHERE kind = 'category'""").fetchall())
    routing = load_routing(routing_file, regions, categories)
    Warehouse.append_rows(con, "rejected_row", routing.rejected.with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(now).alias("rejected_at")))
    planned = plan_alerts(con, routing.rows, run_id=run_id, now=now)
    review_open_alerts(con, run_id=run_id)
    if problem := mail.problem():
        # Bad mail settings must not fail the run (nor block publishing): the alerts wait, saying why.
        con.execute("UPDATE alert SET last_error = ?, last_run_id = ? WHERE state IN ('pending', 'failed')",
                    [f"not sent: {problem}", run_id])
        emails, deliveries = [], []
    else:
        emails = due_emails(con, mail, outputs, now=now)
        deliveries = deliver({e.key: e.message for e in emails}, mail, outputs.outbox_dir)
        record_deliveries(con, emails, deliveries, run_id=run_id, now=now)
    states = dict(con.execute("SELECT state, count(*) FROM alert WHERE last_run_id = ? GROUP BY state",
                              [run_id]).fetchall())
    return {
        "planned": planned,
        "emails": sum(d.state == "sent" for d in deliveries),
        "emails_not_sent": sum(d.state != "sent" for d in deliveries),
        **{state: states.get(state, 0) for state in ("sent", "pending", "failed", "held", "superseded")},
        "routes": routing.rows.height,
        "routes_rejected": routing.rejected.height,
        "delivery": mail.describe(),
    }


# ---------------------------------------------------------------------------------------------- summary

SUMMARY_HELD_LINES = 20


def alert_summary(con: duckdb.DuckDBPyConnection, run_id: str, outbox_dir: Path) -> list[str]:
    """Lines for the run summary: the alerts this run touched by state, where the emails went,
    and every held alert with its reason."""
    states = con.execute("SELECT state, count(*) FROM alert WHERE last_run_id = ? GROUP BY state ORDER BY state",
                         [run_id]).fetchall()
    lines = [f"alerts                {sum(n for _, n in states)}"
             + (f" ({', '.join(f'{s} {n}' for s, n in states)})" if states else "")]
    for via, emails, alerts in con.execute("""
            SELECT delivered_via, count(DISTINCT message_id), count(*) FROM alert
            WHERE last_run_id = ? AND state = 'sent' GROUP BY delivered_via ORDER BY delivered_via""",
                                           [run_id]).fetchall():
        where = f"written to {outbox_dir} as .eml (no SMTP host set)" if via == "outbox" else "sent by SMTP"
        lines.append(f"  emails              {emails} {where}, carrying {alerts} alert(s)")
    for state, n, error in con.execute("""
            SELECT state, count(*), any_value(last_error) FROM alert
            WHERE last_run_id = ? AND state IN ('pending', 'failed') GROUP BY state ORDER BY state""",
                                       [run_id]).fetchall():
        lines.append(f"  not delivered       {n} {state}, retried next run: {error or 'not attempted'}")
    held = con.execute(f"""
        SELECT coalesce(s.region_name, a.target_id), coalesce(s.indicator_name, ''),
               CASE WHEN a.recipient = '' THEN '(no recipient)' ELSE a.recipient END, a.hold_reason
        FROM alert a LEFT JOIN v_target_status s USING (target_id)
        WHERE a.last_run_id = ? AND a.state = 'held' ORDER BY 1, 2, 3 LIMIT {SUMMARY_HELD_LINES + 1}
    """, [run_id]).fetchall()
    lines += [f"  held                {region} {indicator} -> {recipient}: {reason}"
              for region, indicator, recipient, reason in held[:SUMMARY_HELD_LINES]]
    if len(held) > SUMMARY_HELD_LINES:
        lines.append("  held                ... more: SELECT * FROM alert WHERE state = 'held'")
    return lines
