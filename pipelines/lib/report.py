"""The evaluation report of a run: static HTML pages and the 指标完成情况表 as one .xlsx per region.

- reports/index.html: the status overview of every region (counts by status, a bar), each row
  (id ``r-<region_code>``) linking to the region's page and workbook;
- reports/<region_code>.html: that region's evaluation table and a card per target (id ``t-<target_id>``)
  with a chart of the observations, the plan path and the target;
- reports/<region_code>.xlsx: that region's evaluation table.

Everything is read from the analyst views (sql/views), so the pages show exactly what an analyst
querying the warehouse sees. The pages work offline: charts are inline SVG built here, styles are
inline, and no script or font is fetched.

The report scales with what changed, not the country. A digest of each region's table rows (kept in a
sidecar with the files' hashes) tells which regions' inputs changed since the last report; only those
are read from the views (one region at a time when they are few, all at once when many) into temporary
tables and hashed. A region's page and workbook are rewritten only when those view rows changed, so a run
that touched one document reads and rewrites one region's files. Regions are rendered a batch at a time.
Files are written under a temporary name and renamed, so a manager opening a page during a run sees the
previous one or the new one, never half.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from pipelines.lib import formatting
from pipelines.lib.formatting import number, template_environment

REPORT_PAGE = "index.html"
UNKNOWN_REGION = "unknown"  # the group of targets whose area is not in reference/regions.csv
UNKNOWN_REGION_NAME = "地区参考表以外的地区"
EVALUATION_SHEET = "指标完成情况表"
# The published shape of the evaluation table, then the years the numbers belong to.
EVALUATION_COLUMNS = ["类型", "指标", "单位", "基数", "目标值", "最新值", "完成进度", "时间进度", "属性", "状态",
                      "基数年份", "目标年份", "最新值年份"]
PERCENT_COLUMNS = ["完成进度", "时间进度"]

WORKBOOK_GLOB = "[0-9][0-9][0-9][0-9][0-9][0-9].xlsx"  # the files workbook_name() makes (GB/T 2260 codes)
REGION_PAGE_GLOB = "[0-9][0-9][0-9][0-9][0-9][0-9].html"  # the files region_page_name() makes
# Per region: a digest of the table rows its files come from, and hashes of the view rows its page and its
# workbook were written from.
STATE_FILE = ".report-state.json"
FEW_REGIONS = 16  # up to this many changed regions are read from the views one by one; more, all at once
REGIONS_PER_BATCH = 50  # regions read from DuckDB at once: bounds memory, keeps the query count low
TEMPLATES = ("report_base.html.j2", "report.html.j2", "report_region.html.j2")

# The columns a target card shows (and nothing else: run ids and times would change every run).
CARD_COLUMNS = ["target_id", "region_text", "indicator_name", "status", "status_zh", "attribute", "severity",
                "severity_zh", "period", "target_year", "measure", "comparator", "target_value", "unit",
                "baseline_value", "baseline_year", "latest_year", "latest_value", "expected_value", "done_progress",
                "time_progress", "gap", "growth_ratio", "projected_value", "rule", "reason", "evidence", "doc_title",
                "line", "doc_file"]


def workbook_name(region_code: str) -> str:
    """File name of a region's evaluation table inside the reports folder (alert emails link to it)."""
    return f"{region_code}.xlsx"


def region_page_name(region_code: str) -> str:
    """File name of a region's page (evaluation table and target charts) inside the reports folder."""
    return f"{region_code}.html"


@dataclass(frozen=True)
class ChartBox:
    """Pixel layout of one target chart: the plot area sits inside the margins."""

    width: int = 560
    height: int = 260
    left: int = 64
    right: int = 20
    top: int = 30
    bottom: int = 34

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


CHART = ChartBox()


def build_report(con: duckdb.DuckDBPyConnection, reports_dir: Path, *, run_id: str,
                 processes: int = 1) -> dict[str, Path]:
    """Write index.html, a page per region and one <region_code>.xlsx per region with assessed targets;
    returns index.html ("html") and the workbooks ("xlsx:<region_code>"), those left unchanged included.
    The region pages are index.html's links: <region_code>.html next to it. With ``processes`` > 1 the
    regions' files are drawn in that many worker processes (the files of each region are independent)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    statuses = con.sql("SELECT code AS status, label_zh FROM v_label WHERE kind = 'status' ORDER BY sort_order").pl()
    try:
        regions = _regions(con)
        overview = status_overview(con.sql("SELECT region_code, status FROM report_assessed").pl(), statuses)
        previous = _read_state(reports_dir)
        version = _render_version()
        files: dict[str, Path] = {}
        pages = {code: reports_dir / region_page_name(code) for code in regions["region_code"]}
        for code in pages:
            if code != UNKNOWN_REGION:  # no GB/T code, no table to hand in
                files[f"xlsx:{code}"] = reports_dir / workbook_name(code)
        inputs = {code: f"{version}:{digest}" for code, digest in regions.select("region_code", "inputs").iter_rows()}
        # Only the regions whose tables changed (or whose files are gone) are read from the views: for the
        # others, last run's hashes still describe what their files show.
        changed = [code for code in pages
                   if previous.get(code, {}).get("inputs") != inputs[code] or not pages[code].exists()
                   or (f"xlsx:{code}" in files and not files[f"xlsx:{code}"].exists())]
        _stage_inputs(con, changed if len(changed) <= FEW_REGIONS else None)
        state = {code: previous[code] for code in pages if code not in changed}
        state |= {code: {"inputs": inputs[code], "html": f"{version}:{page_hash}", "xlsx": f"{version}:{table_hash}"}
                  for code, page_hash, table_hash in _row_hashes(con).iter_rows()}

        def stale(code: str, kind: str, path: Path) -> bool:
            return previous.get(code, {}).get(kind) != state[code][kind] or not path.exists()

        pending = [code for code in pages
                   if stale(code, "html", pages[code]) or (f"xlsx:{code}" in files
                                                           and stale(code, "xlsx", files[f"xlsx:{code}"]))]
        # Forget the hashes of the files about to be rewritten first: a run that stops halfway must not
        # leave a new file behind a hash that a later run could match.
        _write_state(reports_dir, {code: state[code] for code in state if code not in pending})

        region_info = _region_info(regions, overview)
        batches = (
            RegionBatch(targets=targets, path=path, evaluation=evaluation, run_id=run_id, statuses=statuses,
                        regions={code: region_info[code] for code in codes},
                        workbooks={code: files[f"xlsx:{code}"] for code in codes
                                   if f"xlsx:{code}" in files and stale(code, "xlsx", files[f"xlsx:{code}"])},
                        pages={code: pages[code] for code in codes if stale(code, "html", pages[code])})
            for codes, (targets, path, evaluation) in _region_batches(con, pending))
        _render_all(batches, processes=processes if len(pending) > REGIONS_PER_BATCH else 1)
    finally:
        con.execute("DROP TABLE IF EXISTS report_assessed; DROP TABLE IF EXISTS report_target; "
                    "DROP TABLE IF EXISTS report_path; DROP TABLE IF EXISTS report_evaluation")

    _remove_stale(reports_dir, WORKBOOK_GLOB, keep={p.name for p in files.values()})
    _remove_stale(reports_dir, REGION_PAGE_GLOB, keep={p.name for p in pages.values()})
    if UNKNOWN_REGION not in pages:
        (reports_dir / region_page_name(UNKNOWN_REGION)).unlink(missing_ok=True)
    _write_state(reports_dir, state)

    latest_run = con.sql("SELECT run_id, assessed_at FROM v_latest_run").pl()
    index = render_index(run_id=run_id, assessed_at=latest_run["assessed_at"][0] if latest_run.height else None,
                         statuses=statuses, overview=overview, regions=list(region_info.values()))
    return {"html": _write_atomic(reports_dir / REPORT_PAGE, index.encode("utf-8")), **files}


# ---------------------------------------------------------------------------------------------- inputs

def _regions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every region with assessed targets, in report order, with its name and a digest of the table rows
    its page and workbook are drawn from (``inputs``); leaves each assessed target's region and status in
    the temporary table report_assessed (the status overview). Read from the tables, not the views: this
    is the cheap question asked of every region each run, the views are read for the changed ones.

    The digest covers, per region, every column of the rows the three views read for it (its targets, each
    target's latest assessment, the targets' documents, the region, its chosen observations) and, for all,
    the indicator table and the views' SQL. Columns that change every run without changing a row's
    meaning are left out: the assessment's run_id and assessed_at (a page does not show them), the
    document's loaded_at. A change the digest sees that the pages do not show costs a read of that
    region's views, nothing more: whether its files are rewritten is decided on the view rows
    (_row_hashes, whose note on mixing row hashes before the XOR applies here too). DuckDB's hash is
    stable for a DuckDB version (which is in the digest), which is all a cache needs."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE report_assessed AS
        WITH moments AS (
            -- The few distinct assessment times, numbered in v_target_status's order (by assessed_at, then
            -- run_id, none first): an integer to pick each target's latest row by, cheaper than the pair.
            SELECT assessed_at, run_id,
                   row_number() OVER (ORDER BY assessed_at NULLS FIRST, run_id NULLS FIRST) AS recency
            FROM (SELECT DISTINCT assessed_at, run_id FROM assessment)
        ),
        latest AS (
            SELECT a.target_id, max_by(a.rowid, m.recency) AS latest_row
            FROM assessment a
            JOIN moments m ON a.assessed_at IS NOT DISTINCT FROM m.assessed_at
                          AND a.run_id IS NOT DISTINCT FROM m.run_id
            GROUP BY a.target_id
        ),
        assessed AS (
            SELECT a.target_id, a.status, hash(*COLUMNS(a.* EXCLUDE (run_id, assessed_at))) AS assessment_hash
            FROM latest l JOIN assessment a ON a.rowid = l.latest_row
        ),
        targets AS (SELECT target_id, region_code, region_name, doc_id, hash(t) AS target_hash FROM target t),
        documents AS (SELECT doc_id, hash(*COLUMNS(* EXCLUDE (loaded_at))) AS document_hash FROM document)
        SELECT coalesce(t.region_code, '{UNKNOWN_REGION}') AS region_code, t.region_code IS NULL AS unknown,
               -- as v_target_status names it
               CASE WHEN t.region_code IS NULL THEN '{UNKNOWN_REGION_NAME}'
                    ELSE coalesce(r.name_zh, t.region_name, t.region_code) END AS region_name,
               a.status, hash(hash(t.target_hash, r, a.assessment_hash, d.document_hash)) AS target_hash
        FROM targets t
        JOIN assessed a USING (target_id)
        LEFT JOIN region r ON r.region_code = t.region_code
        LEFT JOIN documents d ON d.doc_id = t.doc_id
        WHERE a.status IS NOT NULL""")
    return con.sql("""
        WITH figures AS (SELECT region_code, bit_xor(hash(hash(o))) AS figures_hash
                         FROM observation o WHERE is_chosen GROUP BY region_code),
             shared AS (SELECT hash((SELECT bit_xor(hash(hash(i))) FROM indicator i),
                                    (SELECT string_agg(sql, ';' ORDER BY view_name) FROM duckdb_views()
                                     WHERE NOT internal), version()) AS shared_hash)
        SELECT a.region_code, min(a.region_name) AS region_name,
               hash(bit_xor(a.target_hash), any_value(f.figures_hash), any_value(s.shared_hash))::VARCHAR AS inputs
        FROM report_assessed a LEFT JOIN figures f USING (region_code) CROSS JOIN shared s
        GROUP BY a.region_code, a.unknown
        ORDER BY a.unknown, a.region_code""").pl()


def _stage_inputs(con: duckdb.DuckDBPyConnection, codes: list[str] | None) -> None:
    """The views' rows the report shows, of the regions ``codes`` (None: every region), into temporary
    tables (session-local: a read-only connection can make them). A few regions are read one at a time:
    the views pass a filter on one region_code down to the table scans, not a list of them."""
    targets = f"""
        SELECT coalesce(s.region_code, '{UNKNOWN_REGION}') AS region_code,
               CASE WHEN s.region_code IS NULL THEN '{UNKNOWN_REGION_NAME}' ELSE s.region_name END AS region_name,
               {", ".join(f"s.{c}" for c in CARD_COLUMNS)}
        FROM v_target_status s
        LEFT JOIN v_label c ON c.kind = 'category' AND c.code = s.category
        WHERE s.status IS NOT NULL AND {{region}}
        -- Within a region: the shortfalls first, the targets without data last, each in plan-table order.
        ORDER BY s.region_code NULLS LAST,
                 CASE WHEN s.status IN ('off_track', 'at_risk') THEN 0 WHEN s.status = 'insufficient_data' THEN 2
                      ELSE 1 END,
                 c.sort_order NULLS LAST, s.indicator_name, s.target_year, s.target_id"""
    paths = """
        SELECT t.region_code, p.target_id, p.year, p.plan_value, p.observed_value, p.observed_source
        FROM v_target_path p JOIN report_target t USING (target_id)
        WHERE {region}
        ORDER BY t.region_code, p.target_id, p.year"""
    evaluation = f"""
        SELECT coalesce(e.region_code, '{UNKNOWN_REGION}') AS region_code, e.* EXCLUDE (region_code)
        FROM v_evaluation_table e
        WHERE {{region}}"""  # the view's order (per region and plan) is the table's rowid order
    staged = (("report_target", "s", targets), ("report_path", "p", paths), ("report_evaluation", "e", evaluation))
    for table, _, sql in staged:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql.format(region='true')} LIMIT 0")
    for code in [None] if codes is None else codes:
        for table, alias, sql in staged:
            condition, params = _one_region(alias, code)
            con.execute(f"INSERT INTO {table} {sql.format(region=condition)}", params)


def _one_region(alias: str, code: str | None) -> tuple[str, list[str]]:
    """The condition that keeps one region's rows of a view (every row, for None), and its parameters."""
    if code is None:
        return "true", []
    if code == UNKNOWN_REGION:
        return f"{alias}.region_code IS NULL", []
    return f"{alias}.region_code = $1", [code]


def _row_hashes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The staged regions with hashes of what their page and their workbook are made of: each row hashed
    with its place in the region, combined by XOR (no sort needed).

    Row hashes are hashed once more before the XOR: DuckDB's hash of several values (or of a struct) XORs
    in the last one's hash, so across rows that part would cancel out (two rows changing the same way,
    or every row's place) unless mixed first."""
    return con.sql("""
        WITH first AS (SELECT region_code, min(rowid) AS first_row FROM report_target GROUP BY region_code),
             eval_first AS (SELECT region_code, min(rowid) AS first_row FROM report_evaluation GROUP BY region_code),
             t AS (SELECT region_code, bit_xor(hash(hash(t, t.rowid - first.first_row))) AS h
                   FROM report_target t JOIN first USING (region_code) GROUP BY region_code),
             p AS (SELECT region_code, bit_xor(hash(hash(p))) AS h FROM report_path p GROUP BY region_code),
             e AS (SELECT region_code, bit_xor(hash(hash(e, e.rowid - eval_first.first_row))) AS h
                   FROM report_evaluation e JOIN eval_first USING (region_code) GROUP BY region_code)
        SELECT first.region_code, hash(t.h, p.h, e.h)::VARCHAR AS page_hash, coalesce(e.h, 0)::VARCHAR AS table_hash
        FROM first JOIN t USING (region_code) LEFT JOIN p USING (region_code) LEFT JOIN e USING (region_code)""").pl()


def _region_batches(con: duckdb.DuckDBPyConnection, codes: list[str]
                    ) -> Iterator[tuple[list[str], tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]]:
    """The targets, chart paths and evaluation rows of a few regions at a time, with the regions' codes."""
    for start in range(0, len(codes), REGIONS_PER_BATCH):
        batch = codes[start:start + REGIONS_PER_BATCH]
        yield batch, tuple(
            con.sql(f"SELECT * FROM {table} WHERE region_code IN (SELECT unnest($1)) ORDER BY {order}",
                    params=[batch]).pl()
            for table, order in (("report_target", "rowid"), ("report_path", "target_id, year"),
                                 ("report_evaluation", "rowid")))


@dataclass(frozen=True)
class RegionBatch:
    """What a few regions' pages and workbooks are drawn from, and which of their files to (re)write."""

    targets: pl.DataFrame
    path: pl.DataFrame
    evaluation: pl.DataFrame
    regions: dict[str, dict]  # region_code -> _region_info row
    workbooks: dict[str, Path]  # region_code -> workbook to write
    pages: dict[str, Path]  # region_code -> page to write
    statuses: pl.DataFrame
    run_id: str


def render_batch(batch: RegionBatch) -> None:
    """Write the stale pages and workbooks of one batch of regions."""
    charts = chart_svg(chart_geometry(batch.targets, batch.path), batch.targets)
    evaluations = batch.evaluation.partition_by("region_code", as_dict=True, maintain_order=True)
    for (code,), region_targets in batch.targets.partition_by("region_code", as_dict=True).items():
        region_evaluation = evaluations.get((code,), batch.evaluation.clear())
        if code in batch.workbooks:
            write_evaluation_workbook(region_evaluation, batch.workbooks[code],
                                      region_name=batch.regions[code]["region_name"], run_id=batch.run_id)
        if code in batch.pages:
            cards = region_targets.join(charts, on="target_id", how="left", maintain_order="left")
            page = render_region_page(region=batch.regions[code], run_id=batch.run_id, statuses=batch.statuses,
                                      targets=cards, evaluation=region_evaluation)
            _write_atomic(batch.pages[code], page.encode("utf-8"))


def _render_all(batches: Iterable[RegionBatch], *, processes: int) -> None:
    """Render every batch, here or in worker processes. At most two batches per worker are in flight,
    so memory stays bounded by the batch size however many regions there are; a worker's error is
    raised here. Workers are spawned, not forked: this process holds DuckDB and polars thread pools."""
    if processes <= 1:
        for batch in batches:
            render_batch(batch)
        return
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        in_flight: set[Future] = set()
        for batch in batches:
            if len(in_flight) >= 2 * processes:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            in_flight.add(pool.submit(render_batch, batch))
        for future in as_completed(in_flight):
            future.result()


@cache
def _render_version() -> str:
    """What the files are drawn with: a change to the templates or this code rewrites every file."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(formatting.__file__).read_bytes())
    for name in TEMPLATES:
        digest.update((formatting.TEMPLATES_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def _write_state(reports_dir: Path, state: dict[str, dict[str, str]]) -> None:
    _write_atomic(reports_dir / STATE_FILE, json.dumps(state, indent=0, sort_keys=True).encode("utf-8"))


def _read_state(reports_dir: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads((reports_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}  # no report yet, or a damaged sidecar: everything is written afresh


# ---------------------------------------------------------------------------------------------- overview

def status_overview(targets: pl.DataFrame, statuses: pl.DataFrame) -> pl.DataFrame:
    """Per region and status: the count, and where its segment starts in the region's stacked bar (0..1)."""
    counts = (
        targets.select("region_code").unique()
        .join(statuses.with_row_index("order"), how="cross")
        .join(targets.group_by("region_code", "status").len("n"), on=["region_code", "status"], how="left")
        .with_columns(pl.col("n").fill_null(0).cast(pl.Int64))
        .sort("region_code", "order")
    )
    total = pl.col("n").sum().over("region_code")
    return counts.with_columns(
        total.alias("total"),
        ((pl.col("n").cum_sum().over("region_code") - pl.col("n")) / total).alias("start"),
        (pl.col("n") / total).alias("share"),
    )


def _region_info(regions: pl.DataFrame, overview: pl.DataFrame) -> dict[str, dict]:
    """What the index and a region's page say about the region (a few rows per region: small)."""
    by_region = {code: part.to_dicts() for (code,), part in overview.partition_by("region_code", as_dict=True).items()}
    return {
        code: {"region_code": code, "region_name": name, "known": code != UNKNOWN_REGION,
               "overview": by_region[code], "page": region_page_name(code), "workbook": workbook_name(code)}
        for code, name in regions.select("region_code", "region_name").iter_rows()
    }


# ---------------------------------------------------------------------------------------------- charts

def chart_geometry(targets: pl.DataFrame, path: pl.DataFrame, box: ChartBox = CHART) -> pl.DataFrame:
    """Every element of every target's chart, one row each: target_id, series (observed, plan, target,
    baseline, latest, y_tick, x_tick), year, value, note, decimals (of a tick label) and its pixel x, y.

    Each chart shows the chosen observations, the straight plan path, the baseline, the target and the
    latest value the status was judged on, on axes fitted to all of them with round tick values.
    """
    def mark(frame: pl.DataFrame, series: str, year: str, value: str, note: pl.Expr | None = None) -> pl.DataFrame:
        return frame.filter(pl.col(year).is_not_null() & pl.col(value).is_not_null()).select(
            "target_id", pl.lit(series).alias("series"), pl.col(year).cast(pl.Int32).alias("year"),
            pl.col(value).cast(pl.Float64).alias("value"),
            (pl.lit(None, pl.String) if note is None else note).alias("note"))

    marks = pl.concat([
        mark(path, "observed", "year", "observed_value", pl.col("observed_source")),
        mark(path, "plan", "year", "plan_value"),
        mark(targets, "target", "target_year", "target_value"),
        mark(targets, "baseline", "baseline_year", "baseline_value"),
        mark(targets, "latest", "latest_year", "latest_value"),
    ])
    # The years of the plan period count for the axis too, so that every chart spans its period.
    span = path.select("target_id", pl.col("year").cast(pl.Int32))
    axes = _axes(pl.concat([marks.select("target_id", "year", "value"),
                            span.with_columns(pl.lit(None, pl.Float64).alias("value"))]))
    y_ticks = (axes.select("target_id", "y_lo", "y_step", "decimals", pl.int_ranges(0, pl.col("n_ticks") + 1).alias("i"))
               .explode("i")
               .select("target_id", pl.lit("y_tick").alias("series"), pl.lit(None, pl.Int32).alias("year"),
                       (pl.col("y_lo") + pl.col("i") * pl.col("y_step")).alias("value"), "decimals"))
    x_ticks = (axes.select("target_id", "x_lo", "x_hi", pl.int_ranges("x_lo", pl.col("x_hi") + 1).alias("year"))
               .explode("year")
               # Label every year on short spans, every other year on long ones.
               .filter(((pl.col("year") - pl.col("x_lo")) % ((pl.col("x_hi") - pl.col("x_lo")) // 10 + 1)) == 0)
               .select("target_id", pl.lit("x_tick").alias("series"), pl.col("year").cast(pl.Int32),
                       pl.lit(None, pl.Float64).alias("value")))
    return (
        pl.concat([marks, y_ticks, x_ticks], how="diagonal_relaxed")
        .join(axes, on="target_id")  # no axes (not a single number to draw): no chart
        .with_columns(_x(pl.col("year"), box).round(1).alias("x"), _y(pl.col("value"), box).round(1).alias("y"))
        .select("target_id", "series", "year", "value", "note", "decimals", "x", "y")
        .sort("target_id", "series", "year", "value", maintain_order=True)
    )


def _axes(marks: pl.DataFrame) -> pl.DataFrame:
    """Per target: the year range and a y range widened to round ticks (4-5 intervals of 1/2/2.5/5 x 10^k)."""
    lo, hi = pl.col("v_min"), pl.col("v_max")
    flat_pad = pl.max_horizontal(lo.abs() * 0.1, pl.lit(1.0))
    raw_step = (hi - lo) / 4
    magnitude = pl.lit(10.0).pow(raw_step.log10().floor())
    normalized = raw_step / magnitude
    nice = (pl.when(normalized <= 1).then(1.0).when(normalized <= 2).then(2.0)
            .when(normalized <= 2.5).then(2.5).when(normalized <= 5).then(5.0).otherwise(10.0))
    return (
        marks.group_by("target_id")
        .agg(pl.col("year").min().alias("x_lo"), pl.col("year").max().alias("x_hi"),
             pl.col("value").min().alias("v_min"), pl.col("value").max().alias("v_max"))
        .filter(pl.col("v_min").is_not_null())  # not a single number to draw: no chart
        .with_columns(
            # A single year or a single value still gets an axis with some room around it.
            pl.when(pl.col("x_lo") == pl.col("x_hi")).then(pl.col("x_lo") - 1).otherwise("x_lo").alias("x_lo"),
            pl.when(pl.col("x_lo") == pl.col("x_hi")).then(pl.col("x_hi") + 1).otherwise("x_hi").alias("x_hi"),
            pl.when(lo == hi).then(lo - flat_pad).otherwise(lo).alias("v_min"),
            pl.when(lo == hi).then(hi + flat_pad).otherwise(hi).alias("v_max"),
        )
        .with_columns((nice * magnitude).alias("y_step"), nice.alias("nice"))
        .with_columns((lo / pl.col("y_step")).floor().mul(pl.col("y_step")).alias("y_lo"),
                      (hi / pl.col("y_step")).ceil().mul(pl.col("y_step")).alias("y_hi"))
        .with_columns(((pl.col("y_hi") - pl.col("y_lo")) / pl.col("y_step")).round().cast(pl.Int64).alias("n_ticks"),
                      # Enough decimals for the step: 0.25 -> 2, 0.5 -> 1, 50 -> 0.
                      (-(pl.col("y_step").log10().floor()) + (pl.col("nice") == 2.5).cast(pl.Float64))
                      .clip(0, 6).cast(pl.Int64).alias("decimals"))
        .drop("v_min", "v_max", "nice")
    )


def _x(year: pl.Expr, box: ChartBox) -> pl.Expr:
    return box.left + (year - pl.col("x_lo")) / (pl.col("x_hi") - pl.col("x_lo")) * box.plot_width


def _y(value: pl.Expr, box: ChartBox) -> pl.Expr:
    return box.top + (pl.col("y_hi") - value) / (pl.col("y_hi") - pl.col("y_lo")) * box.plot_height


# The legend is the same in every chart.
LEGEND = (
    f'<g class="legend" transform="translate({CHART.width - 330}, 10)">'
    '<line class="observed" x1="0" y1="0" x2="18" y2="0"/><circle class="obs-point" cx="9" cy="0" r="3"/>'
    '<text x="22" y="4">实际值</text>'
    '<line class="plan-path" x1="70" y1="0" x2="92" y2="0"/><text x="96" y="4">规划路径</text>'
    '<polygon class="target-mark" points="156,-5 161,0 156,5 151,0"/><text x="165" y="4">目标值</text>'
    '<circle class="latest-point" cx="220" cy="0" r="5"/><text x="229" y="4">最新值（评估依据）</text></g>'
)
# Drawing order, back to front; each element's markup is a format string over the geometry's columns.
SERIES_MARKUP: dict[str, tuple[int, str]] = {
    "y_tick": (0, f'<line class="grid" x1="{CHART.left}" x2="{CHART.width - CHART.right}" y1="{{y}}" y2="{{y}}"/>'
                  f'<text x="{CHART.left - 6}" y="{{label_y}}" text-anchor="end">{{label}}</text>'),
    "x_tick": (1, f'<text x="{{x}}" y="{CHART.height - CHART.bottom + 16}" text-anchor="middle">{{year}}年</text>'),
    "target": (3, f'<line class="target-line" x1="{CHART.left}" x2="{CHART.width - CHART.right}" y1="{{y}}" y2="{{y}}"/>'
                  '<polygon class="target-mark" points="{x},{top} {right},{y} {x},{bottom} {left},{y}">'
                  '<title>目标值：{year}年 {label}{unit}</title></polygon>'
                  '<text class="mark-label" x="{label_x}" y="{label_y}" text-anchor="end">目标 {label}</text>'),
    "baseline": (4, '<rect class="baseline-mark" x="{rect_x}" y="{rect_y}" width="8" height="8">'
                    '<title>基数：{year}年 {label}{unit}</title></rect>'),
    "observed": (6, '<circle class="obs-point" cx="{x}" cy="{y}" r="3.5"><title>{year}年 {label}{unit}{note}</title></circle>'),
    "latest": (7, '<circle class="latest-point" cx="{x}" cy="{y}" r="7"><title>最新值：{year}年 {label}{unit}</title></circle>'),
}
LINE_MARKUP = {  # series drawn as one polyline through their points, in the order given
    "plan": (2, '<polyline class="plan-path" points="{points}"><title>规划路径（按时间进度线性推进）</title></polyline>'),
    "observed": (5, '<polyline class="observed" points="{points}"/>'),
}


def chart_svg(geometry: pl.DataFrame, targets: pl.DataFrame, box: ChartBox = CHART) -> pl.DataFrame:
    """Each target's chart as inline SVG markup (target_id, chart), built column-wise from the geometry."""
    units = targets.select("target_id", _escape(pl.col("unit").fill_null("")).alias("unit"),
                           _escape(pl.col("indicator_name")).alias("name"))
    placed = geometry.join(units, on="target_id").with_columns(
        # The project's one number format (a Python function: the labels are few per chart).
        pl.struct("value", "decimals").map_elements(lambda v: number(v["value"], v["decimals"]),
                                                    return_dtype=pl.String).alias("label"),
        pl.when(pl.col("note").is_not_null()).then(pl.format("（{}）", _escape(pl.col("note")))).otherwise(pl.lit(""))
        .alias("note"),
        (pl.col("y") + 4).round(1).alias("label_y"), (pl.col("x") - 11).round(1).alias("label_x"),
        (pl.col("y") - 7).round(1).alias("top"), (pl.col("y") + 7).round(1).alias("bottom"),
        (pl.col("x") - 7).round(1).alias("left"), (pl.col("x") + 7).round(1).alias("right"),
        (pl.col("x") - 4).round(1).alias("rect_x"), (pl.col("y") - 4).round(1).alias("rect_y"),
    )
    elements = pl.concat([
        *(placed.filter(pl.col("series") == series)
          .select("target_id", pl.lit(layer).alias("layer"), _format(markup).alias("markup"))
          for series, (layer, markup) in SERIES_MARKUP.items()),
        *(placed.filter(pl.col("series") == series).group_by("target_id", maintain_order=True)
          .agg(pl.format("{},{}", "x", "y").str.join(" ").alias("points"))
          .select("target_id", pl.lit(layer).alias("layer"), _format(markup).alias("markup"))
          for series, (layer, markup) in LINE_MARKUP.items()),
    ])
    body = (elements.sort("target_id", "layer", maintain_order=True)
            .group_by("target_id", maintain_order=True).agg(pl.col("markup").str.join(""))
            .join(units, on="target_id"))
    return body.select("target_id", pl.concat_str(
        pl.format(f'<svg class="chart" viewBox="0 0 {box.width} {box.height}" width="{box.width}" '
                  f'height="{box.height}" role="img" aria-label="{{}}：实际值、规划路径与目标">', "name"),
        pl.format(f'<text x="{box.left}" y="14">单位：{{}}</text>',
                  pl.when(pl.col("unit") == "").then(pl.lit("—")).otherwise("unit")),
        pl.lit(LEGEND),
        pl.lit(f'<line class="axis-line" x1="{box.left}" x2="{box.width - box.right}" '
               f'y1="{box.height - box.bottom}" y2="{box.height - box.bottom}"/>'),
        "markup", pl.lit("</svg>"),
    ).alias("chart"))


def _format(markup: str) -> pl.Expr:
    """A '{column}' markup template as a polars expression (pl.format with those columns in order)."""
    parts = re.split(r"\{(\w+)\}", markup)
    return pl.format("{}".join(parts[::2]), *(pl.col(name) for name in parts[1::2]))


def _escape(text: pl.Expr) -> pl.Expr:
    """HTML-escape a text column (as Jinja's autoescape does) for markup built outside a template."""
    return text.str.replace_many(["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&#34;", "&#39;"])


# ---------------------------------------------------------------------------------------------- files

def write_evaluation_workbook(table: pl.DataFrame, path: Path, *, region_name: str, run_id: str) -> Path:
    """One region's 指标完成情况表, one sheet per plan: a title, then the table with Chinese headers
    (progress as Excel percents)."""
    tmp = path.with_name(f".{path.name}.tmp")
    # in_memory: no temporary file per sheet (their creation and removal cost more than the writing).
    with xlsxwriter.Workbook(tmp, {"in_memory": True}) as workbook:
        title = workbook.add_format({"bold": True, "font_size": 14})
        used: set[str] = set()
        for (_doc_id,), plan in table.partition_by("doc_id", as_dict=True, maintain_order=True).items():
            plan_name = plan["规划"][0] or EVALUATION_SHEET
            worksheet = workbook.add_worksheet(_sheet_name(plan_name, used))
            worksheet.write(0, 0, f"{region_name}{plan_name}主要指标完成情况表", title)
            worksheet.write(1, 0, f"Planwatch 运行 {run_id} · 生成于 {datetime.now():%Y-%m-%d %H:%M}")
            plan.select(EVALUATION_COLUMNS).with_columns(pl.col(PERCENT_COLUMNS) / 100).write_excel(
                workbook, worksheet, position="A4", table_style="Table Style Medium 2", autofit=True,
                column_formats={c: "0.0%" for c in PERCENT_COLUMNS}, float_precision=2, freeze_panes="A5",
            )
    os.replace(tmp, path)
    return path


def _sheet_name(name: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = "".join("_" if c in "[]:*?/\\" else c for c in name)[:28]
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def _remove_stale(reports_dir: Path, pattern: str, *, keep: set[str]) -> None:
    """A region without assessed targets this run has no page or table: drop last run's, it would mislead.
    Only files named like ours (<6-digit region code>.xlsx / .html) are touched; anything else is someone's."""
    for old in reports_dir.glob(pattern):
        if old.name not in keep:
            old.unlink()


def _write_atomic(path: Path, content: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------- pages

def render_index(*, run_id: str, assessed_at: datetime | None, statuses: pl.DataFrame, overview: pl.DataFrame,
                 regions: list[dict]) -> str:
    return template_environment().get_template("report.html.j2").render(
        run_id=run_id,
        assessed_at=assessed_at,
        generated_at=datetime.now(),
        statuses=statuses.to_dicts(),
        totals=overview.group_by("status", maintain_order=True).agg(pl.col("n").sum()).to_dicts(),
        regions=regions,
    )


def render_region_page(*, region: dict, run_id: str, statuses: pl.DataFrame, targets: pl.DataFrame,
                       evaluation: pl.DataFrame) -> str:
    return template_environment().get_template("report_region.html.j2").render(
        run_id=run_id,
        generated_at=datetime.now(),
        statuses=statuses.to_dicts(),
        status_by_label=dict(zip(statuses["label_zh"], statuses["status"], strict=True)),
        region=region,
        targets=targets.to_dicts(),
        evaluation=evaluation.to_dicts(),
        evaluation_columns=EVALUATION_COLUMNS,
        percent_columns=PERCENT_COLUMNS,
    )
