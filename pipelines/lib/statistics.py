"""Read yearly statistics files (csv, xlsx; long or yearbook-wide) into raw long rows.

Every ``*.csv`` and ``*.xlsx`` under ``statistics/`` is read, each worksheet of a workbook on its own.
A sheet is a grid of text cells; its header row (one of the first rows) says which layout it has:

- **long**: one figure per row, with columns for the indicator (or its catalog key), the year and the
  value, and optionally the region, unit, source, source url and a quote. Headers may be Chinese or
  English (地区/region, 指标/indicator, 年份/year, 数值/value, 单位/unit, 来源/source); a unit in the
  value header (``数值(亿元)``) applies to every row.
- **yearbook-wide**: indicators down the side, years across the top (``2019``, ``2019年``), with an
  optional unit column and region column. Without a region column the region is the sheet's name (one
  sheet per region), or for a csv the file's name.

Nothing is interpreted here: regions, indicators, years, values and units stay as written and are
normalized by ``observations.build_observations``. What this stage refuses goes to ``rejected`` with the
file, the sheet/row/column and a reason: a file that is neither csv nor xlsx, a file that cannot be
decoded or opened, a sheet that holds notes rather than a table of figures (reported and skipped), and a
cell outside every headed column. A bad file or sheet never stops the others.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from pipelines.lib.reading import UnreadableDocument, decode_bytes
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult, rejected_frame

RAW_STAT_SCHEMA = {
    "source_file": pl.String,
    "location": pl.String,  # "row 12" / "sheet 张家港, row 7, column 2019"
    "region_text": pl.String,
    "indicator_text": pl.String,
    "indicator_key": pl.String,  # when the file names the key itself
    "year": pl.String,
    "value_raw": pl.String,
    "unit": pl.String,
    "source": pl.String,  # title of the publication the figure came from
    "source_url": pl.String,
    "quote": pl.String,
    "region_from": pl.String,  # where region_text comes from: column / sheet name / file name
}
STATISTICS_SUFFIXES = (".csv", ".xlsx", ".xlsm")

# Header cell (NFKC, lower case, no spaces, unit bracket removed) -> the column's role.
HEADER_ROLES: dict[str, str] = {
    **dict.fromkeys(["地区", "地区名称", "区域", "行政区", "行政区划", "地方", "城市", "县市区", "region", "area",
                     "region_name", "city", "district"], "region"),
    **dict.fromkeys(["指标", "指标名称", "统计指标", "项目", "名称", "indicator", "indicator_name", "indicator_text",
                     "item"], "indicator"),
    **dict.fromkeys(["indicator_key", "指标代码", "指标键", "key"], "indicator_key"),
    **dict.fromkeys(["年份", "年度", "年", "统计年度", "year"], "year"),
    **dict.fromkeys(["数值", "值", "数据", "统计值", "指标值", "value", "amount"], "value"),
    **dict.fromkeys(["单位", "计量单位", "unit", "units"], "unit"),
    **dict.fromkeys(["来源", "数据来源", "资料来源", "出处", "source", "source_title"], "source"),
    **dict.fromkeys(["链接", "网址", "来源链接", "url", "source_url"], "source_url"),
    **dict.fromkeys(["原文", "摘录", "引文", "quote", "evidence"], "quote"),
}
YEAR_HEADER = r"^((?:19|20)\d{2})(?:\.0+)?(?:年|年度|年末|年份)?$"
_UNIT_BRACKET = r"^(.*?)\(([^()]*)\)$"  # 数值(亿元) -> 数值, 亿元 (after NFKC full-width brackets are ASCII)
HEADER_SCAN_ROWS = 20
_NOT_A_SHEET_TITLE = ("sheet1", "sheet", "工作表1")


class UnreadableStatistics(ValueError):
    """A statistics file that cannot be opened or decoded; the message says why."""


def read_statistics(statistics_dir: Path) -> StageResult:
    """Every csv/xlsx under ``statistics_dir`` as raw long rows (RAW_STAT_SCHEMA), in file order."""
    paths = sorted(p for p in statistics_dir.rglob("*")
                   if p.is_file() and not p.name.startswith((".", "~$"))) if statistics_dir.exists() else []
    rows, rejected = [pl.DataFrame(schema=RAW_STAT_SCHEMA)], [rejected_frame([])]
    for path in paths:
        name = path.relative_to(statistics_dir).as_posix()
        if path.suffix.lower() not in STATISTICS_SUFFIXES:
            rejected.append(_whole_file(name, f"not a csv or xlsx file ({path.suffix or 'no extension'}): "
                                              "skipped; save it as .csv or .xlsx to have it read"))
            continue
        try:
            sheets = _read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else [(None, _read_csv(path))]
        except UnreadableStatistics as exc:
            rejected.append(_whole_file(name, str(exc)))
            continue
        for sheet, grid in sheets:
            named = bool(sheet) and sheet.strip().lower() not in _NOT_A_SHEET_TITLE
            result = parse_sheet(grid, source_file=name, sheet=sheet, context_region=sheet if named else path.stem,
                                 context_from="sheet name" if named else "file name")
            rows.append(result.rows)
            rejected.append(result.rejected)
    return StageResult(pl.concat(rows), pl.concat(rejected))


# --- files to grids -----------------------------------------------------------------------------

def _whole_file(name: str, reason: str) -> pl.DataFrame:
    return rejected_frame([{"source_file": name, "location": "whole file", "stage": "read", "reason": reason,
                            "raw": None}])


def _grid(records: list[list[str | None]]) -> pl.DataFrame:
    """Cells as columns c0..cN of text (blank -> null), with ``row`` the 1-based row number in the file."""
    cells = pl.Series("cells", records, dtype=pl.List(pl.String))
    width = cells.list.len().max() or 0
    text = [pl.col("cells").list.get(i, null_on_oob=True).str.strip_chars() for i in range(width)]
    return (
        pl.DataFrame(cells).with_row_index("row", offset=1)
        .select(pl.col("row").cast(pl.Int64), *[pl.when(t != "").then(t).alias(f"c{i}") for i, t in enumerate(text)])
    )


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        text, _encoding = decode_bytes(path.read_bytes(), path.name)
    except UnreadableDocument as exc:
        raise UnreadableStatistics(f"{exc}; save it as UTF-8 (or GB18030) text to have it read") from exc
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count)
    return _grid(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))


def _read_xlsx(path: Path) -> list[tuple[str, pl.DataFrame]]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableStatistics(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        # openpyxl yields Python values; text them as written (2019.0 -> "2019.0", read as a year later).
        return [
            (ws.title, _grid([[None if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]))
            for ws in workbook.worksheets if hasattr(ws, "iter_rows")
        ]
    finally:
        workbook.close()


# --- one grid to raw rows -----------------------------------------------------------------------

def _header_text(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_lowercase()


def _header_cells(grid: pl.DataFrame) -> pl.DataFrame:
    """The first rows' cells with the role their text would give a header: row, col, text, role, unit, year."""
    columns = [c for c in grid.columns if c != "row"]
    if not columns:
        return pl.DataFrame(schema={"row": pl.Int64, "col": pl.String, "text": pl.String, "role": pl.String,
                                    "unit": pl.String, "year": pl.String})
    key = _header_text(pl.col("text"))
    return (
        grid.head(HEADER_SCAN_ROWS)
        .unpivot(index="row", on=columns, variable_name="col", value_name="text")
        .drop_nulls("text")
        .with_columns(
            pl.coalesce(key.str.extract(_UNIT_BRACKET, 1), key).alias("name"),
            pl.col("text").str.normalize("NFKC").str.extract(_UNIT_BRACKET, 2).str.strip_chars().alias("unit"),
            key.str.extract(YEAR_HEADER, 1).alias("year"),
        )
        .with_columns(pl.col("name").replace_strict(HEADER_ROLES, default=None, return_dtype=pl.String).alias("role"))
        .select("row", "col", "text", "role", "unit", "year")
    )


def _find_header(cells: pl.DataFrame) -> tuple[int, str] | None:
    """(row, layout) of the first row that heads a long or a wide table, or None."""
    roles = cells.group_by("row").agg(
        pl.col("role").is_in(["indicator", "indicator_key"]).any().alias("indicator"),
        (pl.col("role") == "year").any().alias("year"),
        (pl.col("role") == "value").any().alias("value"),
        pl.col("year").is_not_null().sum().alias("year_columns"),
    )
    found = (
        roles.with_columns(
            pl.when(pl.col("indicator") & pl.col("year") & pl.col("value")).then(pl.lit("long"))
            .when(pl.col("indicator") & ~pl.col("value") & (pl.col("year_columns") > 0)).then(pl.lit("wide"))
            .alias("layout")
        )
        .drop_nulls("layout")
        .sort("row")
    )
    return (found["row"][0], found["layout"][0]) if found.height else None


def parse_sheet(grid: pl.DataFrame, *, source_file: str, sheet: str | None, context_region: str | None,
                context_from: str = "file name") -> StageResult:
    """One grid (a csv file or a worksheet) as raw long rows; a sheet without a table is reported.
    Without a region column, every row's region is ``context_region`` (the sheet's or the file's name)."""
    where = f"sheet {sheet}, " if sheet else ""
    grid = grid.filter(pl.any_horizontal(pl.exclude("row").is_not_null())) if grid.width > 1 else grid.clear()
    cells = _header_cells(grid)
    header = _find_header(cells)
    if header is None:
        what = "is empty" if grid.height == 0 else (
            "holds no table of figures (no header row naming 指标/indicator with years across, or "
            "指标, 年份 and 数值 columns): reported and skipped")
        first = cells["text"].head(3).str.join(" | ").item() if cells.height else None
        return StageResult(pl.DataFrame(schema=RAW_STAT_SCHEMA), rejected_frame([{
            "source_file": source_file, "location": f"sheet {sheet}" if sheet else "whole file", "stage": "read",
            "reason": f"{'sheet ' + repr(sheet) if sheet else 'the file'} {what}", "raw": first}]))
    header_row, layout = header
    head = cells.filter(pl.col("row") == header_row)
    role_of = dict(head.drop_nulls("role").unique("role", keep="first", maintain_order=True).select("role", "col").iter_rows())
    data = grid.filter(pl.col("row") > header_row)
    headed = set(head["col"])
    rows = _long_rows(data, head, role_of) if layout == "long" else _wide_rows(data, head, role_of)
    rows = rows.with_columns(
        pl.lit(source_file).alias("source_file"),
        (pl.lit(where) + pl.col("location")).alias("location"),
        pl.when(pl.col("region_text").is_not_null()).then(pl.lit("column")).otherwise(pl.lit(context_from))
        .alias("region_from"),
        pl.coalesce("region_text", pl.lit(context_region, pl.String)).alias("region_text"),
    ).select(list(RAW_STAT_SCHEMA)).cast(RAW_STAT_SCHEMA)
    return StageResult(rows, _orphan_cells(data, headed, source_file=source_file, where=where))


def _column(role_of: dict[str, str], role: str) -> pl.Expr:
    return pl.col(role_of[role]) if role in role_of else pl.lit(None, pl.String)


def _long_rows(data: pl.DataFrame, head: pl.DataFrame, role_of: dict[str, str]) -> pl.DataFrame:
    value_unit = head.filter(pl.col("role") == "value")["unit"].first()
    return data.select(
        ("row " + pl.col("row").cast(pl.String)).alias("location"),
        _column(role_of, "region").alias("region_text"),
        _column(role_of, "indicator").alias("indicator_text"),
        _column(role_of, "indicator_key").alias("indicator_key"),
        _column(role_of, "year").alias("year"),
        _column(role_of, "value").alias("value_raw"),
        pl.coalesce(_column(role_of, "unit"), pl.lit(value_unit, pl.String)).alias("unit"),
        _column(role_of, "source").alias("source"),
        _column(role_of, "source_url").alias("source_url"),
        _column(role_of, "quote").alias("quote"),
    )


def _wide_rows(data: pl.DataFrame, head: pl.DataFrame, role_of: dict[str, str]) -> pl.DataFrame:
    years = head.drop_nulls("year")
    label = dict(years.select("col", "text").iter_rows())
    year = dict(years.select("col", "year").iter_rows())
    index = {role: _column(role_of, role).alias(role) for role in ("region", "indicator", "indicator_key", "unit")}
    return (
        data.select("row", *index.values(), *label)
        .unpivot(index=["row", *index], on=list(label), variable_name="col", value_name="value_raw")
        .drop_nulls("value_raw")
        .sort("row", maintain_order=True)
        .select(
            ("row " + pl.col("row").cast(pl.String) + ", column " + pl.col("col").replace_strict(label)).alias("location"),
            pl.col("region").alias("region_text"),
            pl.col("indicator").alias("indicator_text"),
            "indicator_key",
            pl.col("col").replace_strict(year).alias("year"),
            "value_raw",
            "unit",
            *[pl.lit(None, pl.String).alias(c) for c in ("source", "source_url", "quote")],
        )
    )


def _orphan_cells(data: pl.DataFrame, headed: set[str], *, source_file: str, where: str) -> pl.DataFrame:
    """Cells in a column with no header: not read, so reported (the rest of their row is still read)."""
    orphans = [c for c in data.columns if c != "row" and c not in headed]
    if not orphans or data.height == 0:
        return rejected_frame([])
    letters = {c: get_column_letter(int(c[1:]) + 1) for c in orphans}
    return (
        data.unpivot(index="row", on=orphans, variable_name="col", value_name="raw")
        .drop_nulls("raw")
        .sort("row", "col")
        .select(
            pl.lit(source_file).alias("source_file"),
            (pl.lit(where) + "row " + pl.col("row").cast(pl.String) + ", column "
             + pl.col("col").replace_strict(letters)).alias("location"),
            pl.lit("read").alias("stage"),
            pl.lit("cell lies in a column without a header, so it is not read: give the column a header "
                   "(a year, or 数值/单位/来源) or move the note out of the table").alias("reason"),
            "raw",
        )
        .cast(REJECTED_SCHEMA)
    )
