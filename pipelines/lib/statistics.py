"""Read yearly statistics files (csv, xlsx; long or yearbook-wide) into raw long rows.

Every ``*.csv`` and ``*.xlsx`` under ``statistics/`` is read (lock, temporary and backup files are not
inputs: ``raw_files.input_files``), each worksheet of a workbook on its own. A sheet is a grid of text
cells; its header row (one of the first rows) says which layout it has:

- **long**: one figure per row, with columns for the indicator (or its catalog key), the year and the
  value, and optionally the region, unit, source, source url and a quote. Headers may be Chinese or
  English (地区/region, 指标/indicator, 年份/year, 数值/value, 单位/unit, 来源/source); a unit in the
  value header (``数值(亿元)``) applies to every row.
- **yearbook-wide**: indicators down the side, years across the top (``2019``, ``2019年``,
  ``2022年(初步核算)``), with optional unit, region and source columns. Without a region column the
  region is the sheet's name (one sheet per region), or for a csv the file's name.

Workbook cells are read as Excel shows them: a number formatted as a percentage (stored 0.035, shown
3.5%) is the text ``3.5%``, so its unit is % whatever the unit column says. A formula Excel never
calculated (openpyxl sees no cached value) is rejected, cell by cell.

Every column under the header is accounted for. A column is read when its header gives it a role (the
first column of each role; a second 数值 column is not silently merged), or, in a wide table, a year.
Note columns (备注, 说明, 注, note, source_note, …) are kept: their text goes with the row's ``quote``
as ``备注: …`` (so it reaches ``observation.evidence``, and a note saying 预计 marks the figure as an
estimate), as does the bracket of a year header (``2022年(初步核算)``: preliminary figures). Any
other column with cells is reported once per sheet with the reason it was not read; a cell in a column
without a header is reported on its own.

Nothing is interpreted here: regions, indicators, years, values and units stay as written and are
normalized by ``observations.build_observations``. What this stage refuses goes to ``rejected`` with the
file, the sheet/row/column and a reason: a file that is neither csv nor xlsx, a file that cannot be
decoded or opened, a sheet that holds notes rather than a table of figures (reported and skipped), a
column or a cell that is not read, a formula without a value. A bad file or sheet never stops the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from xml.etree.ElementTree import ParseError

import openpyxl
import polars as pl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from pipelines.lib.parquet_cache import ParquetCache, code_digest, read_parquet_paths
from pipelines.lib.raw_files import input_files
from pipelines.lib.reading import UnreadableDocument, decode_bytes
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult, empty_rejected, rejected_frame

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
    "quote": pl.String,  # the quote, then the row's notes ("备注: 初步核算") and a year header's bracket
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
    **dict.fromkeys(["备注", "说明", "注", "附注", "注释", "note", "notes", "remark", "remarks", "comment",
                     "comments", "source_note"], "note"),
}
# The roles a layout reads (the first column of each); a wide table takes its years from its headers.
READ_ROLES = {
    "long": ("region", "indicator", "indicator_key", "year", "value", "unit", "source", "source_url", "quote"),
    "wide": ("region", "indicator", "indicator_key", "unit", "source", "source_url", "quote"),
}
YEAR_HEADER = r"^((?:19|20)\d{2})(?:\.0+)?(?:年|年度|年末|年份)?$"
_UNIT_BRACKET = r"^(.*?)\(([^()]*)\)$"  # 数值(亿元) -> 数值, 亿元 (after NFKC full-width brackets are ASCII)
# Excel scales a number by 100 for a % in its format, unless the % is quoted ("%") or escaped (\%).
_PERCENT_FORMAT = r'"[^"]*"|\\.'
HEADER_SCAN_ROWS = 20
_NOT_A_SHEET_TITLE = ("sheet1", "sheet", "工作表1")
READER_CACHE_FORMAT = "1"  # bump when the cached layout (rows + rejected parts per file) changes
_UNCACHED_FORMULA = "formula without a cached value: open and save the workbook in Excel"


class UnreadableStatistics(ValueError):
    """A statistics file that cannot be opened or decoded; the message says why."""


class _Sheet(NamedTuple):
    name: str | None  # the worksheet's title; None for a csv
    grid: pl.DataFrame  # row + c0..cN text cells
    unread: pl.DataFrame  # cells lost on reading (REJECTED_SCHEMA)


class StatisticsReads(NamedTuple):
    keys: list[str]  # cache key of every file read or reused, in file order
    read: int  # files parsed on this call
    reused: int  # files whose rows and rejected rows came from the cache


def reader_version() -> str:
    """Hash of the reading code (the import closure of this module), polars and openpyxl: a change to any
    of them starts a fresh statistics cache."""
    return code_digest(__name__, f"{READER_CACHE_FORMAT}|openpyxl {openpyxl.__version__}").hexdigest()[:16]


def file_key(path: Path, name: str) -> str:
    """Cache key of one input file: its relative name (the rows carry it) and the sha256 of its bytes."""
    digest = hashlib.sha256(name.encode())
    digest.update(b"\0")
    digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def read_statistics(statistics_dir: Path) -> StageResult:
    """Every csv/xlsx under ``statistics_dir`` as raw long rows (RAW_STAT_SCHEMA), in file order."""
    return read_statistics_files(statistics_dir)[0]


def read_statistics_files(statistics_dir: Path, cache: ParquetCache | None = None) -> tuple[StageResult, StatisticsReads]:
    """``read_statistics``, with a cache: a file whose name and bytes were read before (under the same
    reader version) gives back its stored rows and rejected rows instead of being parsed again."""
    rows, rejected = [pl.DataFrame(schema=RAW_STAT_SCHEMA)], [empty_rejected()]
    keys, read, reused = [], 0, 0
    for path in input_files(statistics_dir):
        name = path.relative_to(statistics_dir).as_posix()
        if path.suffix.lower() not in STATISTICS_SUFFIXES:
            rejected.append(_whole_file(name, f"not a csv or xlsx file ({path.suffix or 'no extension'}): "
                                              "skipped; save it as .csv or .xlsx to have it read"))
            continue
        try:
            key = file_key(path, name) if cache is not None else None
        except OSError:  # unreadable bytes: parsed (and reported) without the cache
            key = None
        if key is not None and cache.path(key, "rejected").exists():  # the part stored last
            result = StageResult(read_parquet_paths(cache.path(key, "rows")),
                                     read_parquet_paths(cache.path(key, "rejected")))
            reused += 1
        else:
            result = _read_file(path, name)
            read += 1
            if key is not None:
                cache.store(key, result.rows, "rows")
                cache.store(key, result.rejected, "rejected")
        if key is not None:
            keys.append(key)
        rows.append(result.rows)
        rejected.append(result.rejected)
    return StageResult(pl.concat(rows), pl.concat(rejected)), StatisticsReads(keys, read, reused)


def _read_file(path: Path, name: str) -> StageResult:
    """One csv or xlsx file's raw long rows and rejected rows (a whole-file rejection when unreadable)."""
    rows, rejected = [pl.DataFrame(schema=RAW_STAT_SCHEMA)], [empty_rejected()]
    try:
        sheets = (_read_xlsx(path, name) if path.suffix.lower() in (".xlsx", ".xlsm")
                  else [_Sheet(None, _read_csv(path), empty_rejected())])
    except UnreadableStatistics as exc:
        return StageResult(rows[0], _whole_file(name, str(exc)))
    for sheet in sheets:
        named = bool(sheet.name) and sheet.name.strip().lower() not in _NOT_A_SHEET_TITLE
        result = parse_sheet(sheet.grid, source_file=name, sheet=sheet.name,
                             context_region=sheet.name if named else path.stem,
                             context_from="sheet name" if named else "file name")
        rows.append(result.rows)
        rejected.extend([sheet.unread, result.rejected])
    return StageResult(pl.concat(rows), pl.concat(rejected))


# --- files to grids -----------------------------------------------------------------------------

def _whole_file(name: str, reason: str) -> pl.DataFrame:
    return rejected_frame([{"source_file": name, "location": "whole file", "stage": "read", "reason": reason,
                            "raw": None}])


def _letters(numbers: pl.Series) -> dict[int, str]:
    """0-based column numbers -> spreadsheet column letters (0 -> A)."""
    return {n: get_column_letter(n + 1) for n in numbers.unique().to_list()}


def _grid_number(col: pl.Expr) -> pl.Expr:
    """c12 -> 12: a grid column's 0-based number."""
    return col.str.slice(1).cast(pl.Int64)


def _grid(cells: pl.DataFrame) -> pl.DataFrame:
    """Cells (row, col, text) as a grid: columns c0..cN in column order, blanks null, ``row`` 1-based."""
    filled = cells.with_columns(pl.col("text").str.strip_chars()).filter(pl.col("text") != "")
    if filled.is_empty():
        return pl.DataFrame(schema={"row": pl.Int64})
    order = sorted(filled["col"].unique())
    return (
        filled.pivot(on="col", index="row", values="text")
        .select(pl.col("row").cast(pl.Int64), *[pl.col(str(c)).alias(f"c{c}") for c in order])
        .sort("row")
    )


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        text, _encoding = decode_bytes(path.read_bytes(), path.name)
    except UnreadableDocument as exc:
        raise UnreadableStatistics(f"{exc}; save it as UTF-8 (or GB18030) text to have it read") from exc
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    cells = (
        pl.DataFrame({"text": pl.Series(records, dtype=pl.List(pl.String))})
        .with_row_index("row", offset=1)
        .with_columns(pl.int_ranges(0, pl.col("text").list.len()).alias("col"))
        .explode("text", "col")
    )
    return _grid(cells)


@contextmanager
def _open_workbook(path: Path, *, data_only: bool) -> Iterator[Workbook]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableStatistics(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        yield workbook
    finally:
        workbook.close()


def _read_xlsx(path: Path, source_file: str) -> list[_Sheet]:
    # Cached values and formulas are two readings of the file in openpyxl (data_only=True / False): the
    # second tells a formula Excel never calculated from an empty cell.
    with _open_workbook(path, data_only=True) as values, _open_workbook(path, data_only=False) as formulas:
        try:
            return [_read_worksheet(sheet, twin, source_file)
                    for sheet, twin in zip(values.worksheets, formulas.worksheets, strict=True)
                    if isinstance(sheet, ReadOnlyWorksheet)]
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile, ParseError) as exc:  # a damaged sheet part
            raise UnreadableStatistics(f"a worksheet of the workbook cannot be read ({type(exc).__name__}: {exc})") from exc


def _read_worksheet(sheet: ReadOnlyWorksheet, twin: ReadOnlyWorksheet, source_file: str) -> _Sheet:
    """One worksheet as a grid of the texts Excel shows, and its formulas without a cached value."""
    for ws in (sheet, twin):
        ws.reset_dimensions()  # some writers record a wrong used range; read the cells that are there
    # A formula without a value: Excel marks an empty text result t="str" (=IF(A1="","",…)), so only a
    # formula with neither a value nor a text result was never calculated.
    found = [
        (r, c, cell.value, cell.number_format, cell.data_type,
         getattr(formula.value, "text", formula.value) if cell.value is None else None)
        for r, (cells, twin_cells) in enumerate(zip(sheet.iter_rows(), twin.iter_rows(), strict=True), start=1)
        for c, (cell, formula) in enumerate(zip(cells, twin_cells, strict=True))
        if cell.value is not None or (formula.data_type == "f" and cell.data_type != "str")
    ]
    names = {"row": pl.Int64, "col": pl.Int64, "value": pl.String, "number_format": pl.String,
             "data_type": pl.String, "formula": pl.String}
    columns = list(zip(*found, strict=True)) or [[]] * len(names)
    cells = pl.DataFrame([pl.Series(n, c, dtype=t, strict=False) for (n, t), c in zip(names.items(), columns, strict=True)])
    percent = pl.col("number_format").str.replace_all(_PERCENT_FORMAT, "").str.contains("%")
    shown = (
        pl.when((pl.col("data_type") == "n") & percent)
        .then((pl.col("value").cast(pl.Float64) * 100).round_sig_figs(15).cast(pl.String) + "%")
        .otherwise(pl.col("value"))
    )
    uncached = cells.filter(pl.col("value").is_null())
    uncached = uncached.select(
        pl.lit(source_file).alias("source_file"),
        (f"sheet {sheet.title}, row " + pl.col("row").cast(pl.String) + ", column "
         + pl.col("col").replace_strict(_letters(uncached["col"]), return_dtype=pl.String)).alias("location"),
        pl.lit("read").alias("stage"),
        pl.lit(_UNCACHED_FORMULA).alias("reason"),
        pl.col("formula").alias("raw"),
    )
    grid = _grid(cells.filter(pl.col("value").is_not_null()).select("row", "col", shown.alias("text")))
    return _Sheet(sheet.title, grid, uncached.cast(REJECTED_SCHEMA))


# --- one grid to raw rows -----------------------------------------------------------------------

def _header_text(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_lowercase()


def _header_cells(grid: pl.DataFrame) -> pl.DataFrame:
    """The first rows' cells with what their text would make of a header: row, col, text, role, bracket
    (数值(亿元) -> 亿元, 2022年(初步核算) -> 初步核算) and year."""
    columns = [c for c in grid.columns if c != "row"]
    if not columns:
        return pl.DataFrame(schema={"row": pl.Int64, "col": pl.String, "text": pl.String, "role": pl.String,
                                    "bracket": pl.String, "year": pl.String})
    key = _header_text(pl.col("text"))
    return (
        grid.head(HEADER_SCAN_ROWS)
        .unpivot(index="row", on=columns, variable_name="col", value_name="text")
        .drop_nulls("text")
        .with_columns(
            pl.coalesce(key.str.extract(_UNIT_BRACKET, 1), key).alias("name"),
            pl.col("text").str.normalize("NFKC").str.extract(_UNIT_BRACKET, 2).str.strip_chars().alias("bracket"),
        )
        .with_columns(
            pl.col("name").replace_strict(HEADER_ROLES, default=None, return_dtype=pl.String).alias("role"),
            pl.col("name").str.extract(YEAR_HEADER, 1).alias("year"),
        )
        .select("row", "col", "text", "role", "bracket", "year")
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


def _column_plan(head: pl.DataFrame, layout: str) -> pl.DataFrame:
    """The header row's cells (in column order) with ``use``: what the column is read as (a role, 'year'
    or 'note'), or null and ``why`` it is not read; ``letter`` is its spreadsheet column."""
    roles = READ_ROLES[layout]
    readable = pl.col("role").is_in(roles)
    first = pl.col("col").first().over("role")
    number = _grid_number(pl.col("col"))
    letter = number.replace_strict(_letters(head.select(number)["col"]), return_dtype=pl.String)
    return head.with_columns(
        letter.alias("letter"),
        pl.when(pl.col("role") == "note").then(pl.lit("note"))
        .when(pl.lit(layout == "wide") & pl.col("year").is_not_null()).then(pl.lit("year"))
        .when(readable & (pl.col("col") == first)).then(pl.col("role"))
        .alias("use"),
    ).with_columns(
        pl.when(pl.col("use").is_not_null()).then(pl.lit(None, pl.String))
        .when(readable)
        .then(pl.lit("a second ") + pl.col("role") + " column (column " + pl.col("letter").first().over("role")
              + " '" + pl.col("text").first().over("role") + "' is read as the " + pl.col("role")
              + "); give its figures rows of their own")
        .when(pl.col("year").is_not_null())
        .then(pl.lit("a year across the top of a long table, whose years come from its 年份/year column"))
        .when(pl.col("role").is_in(["year", "value"]))
        .then(pl.lit("a ") + pl.col("role") + " column in a table with the years across the top")
        .otherwise(pl.lit("not a year, value, unit, region, indicator or source column; give it one of those "
                          "headers (2022年, 数值, 单位, 地区, 指标, 来源) or 备注 to keep it as a note"))
        .alias("why"),
    )


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
    plan = _column_plan(cells.filter(pl.col("row") == header_row), layout)
    data = grid.filter(pl.col("row") > header_row)
    rows = _long_rows(data, plan) if layout == "long" else _wide_rows(data, plan)
    rows = rows.with_columns(
        pl.lit(source_file).alias("source_file"),
        (pl.lit(where) + pl.col("location")).alias("location"),
        pl.when(pl.col("region_text").is_not_null()).then(pl.lit("column")).otherwise(pl.lit(context_from))
        .alias("region_from"),
        pl.coalesce("region_text", pl.lit(context_region, pl.String)).alias("region_text"),
    ).select(list(RAW_STAT_SCHEMA)).cast(RAW_STAT_SCHEMA)
    unread = pl.concat([_unread_columns(data, plan, source_file=source_file, where=where),
                        _orphan_cells(data, set(plan["col"]), source_file=source_file, where=where)])
    return StageResult(rows, unread)


def _column(plan: pl.DataFrame, use: str) -> pl.Expr:
    found = plan.filter(pl.col("use") == use)["col"]
    return pl.col(found[0]) if found.len() else pl.lit(None, pl.String)


def _quote_and_notes(quote: pl.Expr, plan: pl.DataFrame, *more: pl.Expr) -> pl.Expr:
    """The quote, then ``more`` and every note column of ``plan`` as '备注: text', '; '-joined (null when
    there is none of them)."""
    notes = [pl.lit(f"{text}: ") + pl.col(col) for col, text in plan.filter(pl.col("use") == "note")
             .select("col", "text").iter_rows()]
    joined = pl.concat_str([quote, *more, *notes], separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _long_rows(data: pl.DataFrame, plan: pl.DataFrame) -> pl.DataFrame:
    value_unit = plan.filter(pl.col("use") == "value")["bracket"].first()
    return data.select(
        ("row " + pl.col("row").cast(pl.String)).alias("location"),
        _column(plan, "region").alias("region_text"),
        _column(plan, "indicator").alias("indicator_text"),
        _column(plan, "indicator_key").alias("indicator_key"),
        _column(plan, "year").alias("year"),
        _column(plan, "value").alias("value_raw"),
        pl.coalesce(_column(plan, "unit"), pl.lit(value_unit, pl.String)).alias("unit"),
        _column(plan, "source").alias("source"),
        _column(plan, "source_url").alias("source_url"),
        _quote_and_notes(_column(plan, "quote"), plan).alias("quote"),
    )


def _wide_rows(data: pl.DataFrame, plan: pl.DataFrame) -> pl.DataFrame:
    years = plan.filter(pl.col("use") == "year")
    label = dict(years.select("col", "text").iter_rows())
    year = dict(years.select("col", "year").iter_rows())
    # A bracket in a year header is a note on that column's figures: 2022年(初步核算).
    year_note = dict(years.filter(pl.col("bracket").is_not_null()).select("col", "text").iter_rows())
    index = {role: _column(plan, role).alias(role) for role in READ_ROLES["wide"]}
    notes = plan.filter(pl.col("use") == "note")["col"].to_list()
    return (
        data.select("row", *index.values(), *notes, *label)
        .unpivot(index=["row", *index, *notes], on=list(label), variable_name="col", value_name="value_raw")
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
            "source",
            "source_url",
            _quote_and_notes(pl.col("quote"), plan,
                             pl.col("col").replace_strict(year_note, default=None, return_dtype=pl.String))
            .alias("quote"),
        )
    )


def _unread_columns(data: pl.DataFrame, plan: pl.DataFrame, *, source_file: str, where: str) -> pl.DataFrame:
    """One row per headed column that is not read but holds cells, with the reason and its first cells."""
    unread = plan.filter(pl.col("use").is_null())
    if unread.is_empty() or data.height == 0:
        return empty_rejected()
    filled = (
        data.unpivot(index="row", on=unread["col"].to_list(), variable_name="col", value_name="cell")
        .drop_nulls("cell")
        .group_by("col")
        .agg(pl.len().alias("cells"), pl.col("cell").head(3).str.join(" | ").alias("first"))
    )
    return (
        unread.join(filled, on="col", how="inner", maintain_order="left")
        .select(
            pl.lit(source_file).alias("source_file"),
            (pl.lit(where) + "column " + pl.col("letter")).alias("location"),
            pl.lit("read").alias("stage"),
            (pl.lit("column '") + pl.col("text") + "' was not read: " + pl.col("why") + " ("
             + pl.col("cells").cast(pl.String) + " filled cells)").alias("reason"),
            (pl.col("text") + ": " + pl.col("first")).alias("raw"),
        )
        .cast(REJECTED_SCHEMA)
    )


def _orphan_cells(data: pl.DataFrame, headed: set[str], *, source_file: str, where: str) -> pl.DataFrame:
    """Cells in a column with no header: not read, so reported (the rest of their row is still read)."""
    orphans = [c for c in data.columns if c != "row" and c not in headed]
    if not orphans or data.height == 0:
        return empty_rejected()
    number = _grid_number(pl.col("col"))
    return (
        data.unpivot(index="row", on=orphans, variable_name="col", value_name="raw")
        .drop_nulls("raw")
        .with_columns(number.alias("number"))
        .sort("row", "number")
        .select(
            pl.lit(source_file).alias("source_file"),
            (pl.lit(where) + "row " + pl.col("row").cast(pl.String) + ", column "
             + pl.col("number").replace_strict(_letters(pl.Series([int(c[1:]) for c in orphans])),
                                               return_dtype=pl.String)).alias("location"),
            pl.lit("read").alias("stage"),
            pl.lit("cell lies in a column without a header, so it is not read: give the column a header "
                   "(a year, or 数值/单位/来源/备注) or move the note out of the table").alias("reason"),
            "raw",
        )
        .cast(REJECTED_SCHEMA)
    )
