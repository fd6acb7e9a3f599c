"""The evaluation report of a run: one static HTML page and the 指标完成情况表 as one .xlsx per region.

Everything is read from the analyst views (sql/views), so the page shows exactly what an analyst
querying the warehouse sees. The page works offline: charts are inline SVG drawn here, styles are
inline, and no script or font is fetched. Files are written under a temporary name and renamed,
so a manager opening the page during a run sees the previous report or the new one, never half.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from pipelines.lib.formatting import template_environment

REPORT_PAGE = "index.html"
UNKNOWN_REGION = "unknown"  # the group of targets whose area is not in reference/regions.csv
UNKNOWN_REGION_NAME = "地区参考表以外的地区"
EVALUATION_SHEET = "指标完成情况表"
# The published shape of the evaluation table, then the years the numbers belong to.
EVALUATION_COLUMNS = ["类型", "指标", "单位", "基数", "目标值", "最新值", "完成进度", "时间进度", "属性", "状态",
                      "基数年份", "目标年份", "最新值年份"]
PERCENT_COLUMNS = ["完成进度", "时间进度"]


WORKBOOK_GLOB = "[0-9][0-9][0-9][0-9][0-9][0-9].xlsx"  # the files workbook_name() makes (GB/T 2260 codes)


def workbook_name(region_code: str) -> str:
    """File name of a region's evaluation table inside the reports folder (alert emails link to it)."""
    return f"{region_code}.xlsx"


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


def build_report(con: duckdb.DuckDBPyConnection, reports_dir: Path, *, run_id: str) -> dict[str, Path]:
    """Write index.html and one <region_code>.xlsx per region with assessed targets; returns the files."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    statuses = _query(con, "SELECT code AS status, label_zh FROM v_label WHERE kind = 'status' ORDER BY sort_order")
    # Within a region: the shortfalls first, the targets without data last, each in plan-table order.
    targets = _by_region(_query(con, """
        SELECT s.* FROM v_target_status s
        LEFT JOIN v_label c ON c.kind = 'category' AND c.code = s.category
        WHERE s.status IS NOT NULL
        ORDER BY s.region_code NULLS LAST,
                 CASE WHEN s.status IN ('off_track', 'at_risk') THEN 0 WHEN s.status = 'insufficient_data' THEN 2
                      ELSE 1 END,
                 c.sort_order NULLS LAST, s.indicator_name, s.target_year, s.target_id"""))
    evaluation = _by_region(_query(con, "SELECT * FROM v_evaluation_table"))
    latest_run = _query(con, "SELECT run_id, assessed_at FROM v_latest_run")

    files: dict[str, Path] = {}
    for (region_code,), table in evaluation.partition_by("region_code", as_dict=True, maintain_order=True).items():
        if region_code != UNKNOWN_REGION:  # no GB/T code, no table to hand in
            files[f"xlsx:{region_code}"] = write_evaluation_workbook(
                table, reports_dir / workbook_name(region_code), region_name=table["地区"][0], run_id=run_id)
    _remove_stale_workbooks(reports_dir, keep={p.name for p in files.values()})

    page = render_page(
        run_id=run_id,
        assessed_at=latest_run["assessed_at"][0] if latest_run.height else None,
        statuses=statuses,
        overview=status_overview(targets, statuses),
        targets=targets,
        evaluation=evaluation,
        charts=chart_geometry(targets, _query(con, "SELECT * FROM v_target_path")),
    )
    return {"html": _write_atomic(reports_dir / REPORT_PAGE, page.encode("utf-8")), **files}


def _by_region(frame: pl.DataFrame) -> pl.DataFrame:
    """Targets about an area outside reference/regions.csv (no region_code) are grouped as one region."""
    return frame.with_columns(pl.col("region_code").fill_null(UNKNOWN_REGION))


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.sql(sql).pl()


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


# ---------------------------------------------------------------------------------------------- charts

def chart_geometry(targets: pl.DataFrame, path: pl.DataFrame, box: ChartBox = CHART) -> dict[str, dict]:
    """Pixel coordinates of every chart element, per target_id.

    Each chart shows the chosen observations, the straight plan path, the baseline, the target and the
    latest value the status was judged on, on axes fitted to all of them with round tick values.
    """
    marks = pl.concat([
        # The years of the plan period, so that every chart spans its period even without figures.
        path.select("target_id", pl.lit("span").alias("series"), "year", pl.lit(None, pl.Float64).alias("value"),
                    pl.lit(None, pl.String).alias("note")),
        path.filter(pl.col("observed_value").is_not_null()).select(
            "target_id", pl.lit("observed").alias("series"), "year", pl.col("observed_value").alias("value"),
            pl.col("observed_source").alias("note")),
        path.filter(pl.col("plan_value").is_not_null()).select(
            "target_id", pl.lit("plan").alias("series"), "year", pl.col("plan_value").alias("value"),
            pl.lit(None, pl.String).alias("note")),
        *(targets.filter(pl.col(year).is_not_null() & pl.col(value).is_not_null()).select(
            "target_id", pl.lit(series).alias("series"), pl.col(year).alias("year"), pl.col(value).alias("value"),
            pl.lit(None, pl.String).alias("note"))
          for series, year, value in (("target", "target_year", "target_value"),
                                      ("baseline", "baseline_year", "baseline_value"),
                                      ("latest", "latest_year", "latest_value"))),
    ], how="vertical_relaxed").with_columns(pl.col("year").cast(pl.Int32), pl.col("value").cast(pl.Float64))
    axes = _axes(marks)
    placed = marks.join(axes, on="target_id").with_columns(
        _x(pl.col("year"), box).round(1).alias("x"), _y(pl.col("value"), box).round(1).alias("y"))

    def series_points(series: str) -> pl.DataFrame:
        return (placed.filter(pl.col("series") == series).sort("target_id", "year")
                .group_by("target_id", maintain_order=True)
                .agg(pl.struct("x", "y", "year", "value", "note").alias(series),
                     pl.format("{},{}", "x", "y").str.join(" ").alias(f"{series}_line")))

    y_ticks = (axes.select("target_id", "y_lo", "y_hi", "y_step", "decimals",
                           pl.int_ranges(0, pl.col("n_ticks") + 1).alias("i"))
               .explode("i")
               .with_columns((pl.col("y_lo") + pl.col("i") * pl.col("y_step")).alias("value"))
               .with_columns(_y(pl.col("value"), box).round(1).alias("y"))
               .group_by("target_id", maintain_order=True)
               .agg(pl.struct("y", "value", "decimals").alias("y_ticks")))
    x_ticks = (axes.select("target_id", "x_lo", "x_hi", pl.int_ranges("x_lo", pl.col("x_hi") + 1).alias("year"))
               .explode("year")
               # Label every year on short spans, every other year on long ones.
               .filter(((pl.col("year") - pl.col("x_lo")) % ((pl.col("x_hi") - pl.col("x_lo")) // 10 + 1)) == 0)
               .with_columns(_x(pl.col("year"), box).round(1).alias("x"))
               .group_by("target_id", maintain_order=True)
               .agg(pl.struct("x", "year").alias("x_ticks")))

    charts = targets.select("target_id").join(axes.select("target_id"), on="target_id")
    for part in (y_ticks, x_ticks, *(series_points(s) for s in ("observed", "plan", "target", "baseline", "latest"))):
        charts = charts.join(part, on="target_id", how="left")
    return {row["target_id"]: row for row in charts.to_dicts()}


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


# ---------------------------------------------------------------------------------------------- files

def write_evaluation_workbook(table: pl.DataFrame, path: Path, *, region_name: str, run_id: str) -> Path:
    """One region's 指标完成情况表, one sheet per plan: a title, then the table with Chinese headers
    (progress as Excel percents)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with xlsxwriter.Workbook(tmp) as workbook:
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


def _remove_stale_workbooks(reports_dir: Path, *, keep: set[str]) -> None:
    """A region without assessed targets this run has no table: drop last run's file, it would mislead.
    Only files named like ours (<6-digit region code>.xlsx) are touched; anything else is someone's."""
    for old in reports_dir.glob(WORKBOOK_GLOB):
        if old.name not in keep:
            old.unlink()


def _write_atomic(path: Path, content: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------- page

def render_page(*, run_id: str, assessed_at: datetime | None, statuses: pl.DataFrame, overview: pl.DataFrame,
                targets: pl.DataFrame, evaluation: pl.DataFrame, charts: dict[str, dict]) -> str:
    def by_region(frame: pl.DataFrame) -> dict[str, list[dict]]:
        return {code: part.to_dicts() for (code,), part in frame.partition_by("region_code", as_dict=True).items()}

    region_targets, region_evaluation, region_overview = by_region(targets), by_region(evaluation), by_region(overview)
    regions = targets.select(
        "region_code",
        pl.when(pl.col("region_code") == UNKNOWN_REGION).then(pl.lit(UNKNOWN_REGION_NAME))
        .otherwise(pl.col("region_name")).alias("region_name"),
    ).unique("region_code", maintain_order=True)
    return template_environment().get_template("report.html.j2").render(
        run_id=run_id,
        assessed_at=assessed_at,
        generated_at=datetime.now(),
        statuses=statuses.to_dicts(),
        status_by_label=dict(zip(statuses["label_zh"], statuses["status"], strict=True)),
        totals=overview.group_by("status", maintain_order=True).agg(pl.col("n").sum()).to_dicts(),
        regions=[
            {**region,
             "known": region["region_code"] != UNKNOWN_REGION,
             "overview": region_overview[region["region_code"]],
             "targets": region_targets[region["region_code"]],
             "evaluation": region_evaluation.get(region["region_code"], []),
             "workbook": workbook_name(region["region_code"])}
            for region in regions.to_dicts()
        ],
        evaluation_columns=EVALUATION_COLUMNS,
        percent_columns=PERCENT_COLUMNS,
        charts=charts,
        box=CHART,
    )
