"""Figures in tables that text extraction flattened: one cell per line, columns in order.

Two shapes are read.
- Indicator tables: indicators down the side, value columns across (目标 / 完成情况, 2020基数 /
  2025目标值, 台州市2025目标值, 年均增长), often a 属性 column. The header gives every value column a
  kind, a year and, where it names another area, a region. Rows are delimited by the 属性 cell when the
  table has one (it survives damage as 期性/束性), else by the indicator cell that follows a row's values.
- Area tables: areas down the side (one row per county), indicators across (乡镇数, 人口数(万人)).
  Every value is a reported figure (actual) of the row's area.

Flattening drops empty cells and characters. As the labelling rules say, a row with fewer value cells
than value columns lacks its first value columns. Cells reading 国家要求 / 台州市要求 / -- / - hold a
column but give no figure. The evidence of a table figure is the raw indicator cell, a space and the
raw value cell (area tables: area cell, header cell, value cell).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import polars as pl

from pipelines.lib.extract_context import ExtractionContext, built_once
from pipelines.lib.indicator_match import IndicatorMatcher, cached_matcher
from pipelines.lib.numbers import (
    AVERAGE_GROWTH_WORDS,
    BOUND_AFTER,
    BOUND_BEFORE,
    CHANGE_WORDS,
    DECLINE_WORDS,
    NUMBER,
    POINT_WORDS,
    alternation,
)
from pipelines.lib.reference import PERIODS, region_names
from pipelines.lib.timing import YEAR_IN_HEADING
from pipelines.lib.units import figure_unit

# --- cell vocabulary ----------------------------------------------------------------------------

_MAX_CELL_CHARS = 40  # a longer line is prose: it ends a table
_UNIT_CHARS = "%‰个家人户万亿千百元美公里米平方立顷亩吨标准煤张所次辆台套座条处件床岁年天小时瓦克升度微毫/·³²㎡"
_UNIT_WORD = rf"(?:个百分点|[{_UNIT_CHARS}]{{1,8}})"
_VALUE = (rf"(?P<pre>{alternation(BOUND_BEFORE)})?\s*(?P<num>-?{NUMBER})\s*(?P<unit>{_UNIT_WORD})?"
          rf"\s*(?P<post>{alternation(BOUND_AFTER)})?")
_SIMPLE = re.compile(rf"^{_VALUE}$")
_RANGE = re.compile(rf"^(?P<num>{NUMBER})\s*(?:{_UNIT_WORD})?\s*[-~～—至到]\s*{NUMBER}\s*(?P<unit>{_UNIT_WORD})?$")
_PERIOD_TOTAL = re.compile(r"^[\[〔【]\s*(?P<inner>[^\]〕】]+?)\s*[\]〕】]$")  # [17]: a five-year total
_ASCII_UNITS = {"km", "m", "m2", "m3", "km2", "kwh", "kw", "mw", "gw", "t", "kg", "mg/l", "μg/m3", "ug/m3"}
_RATIO = re.compile(rf"^(?P<num>{NUMBER})\s*[:∶]\s*1$")
_CHANGE = re.compile(rf"^(?P<verb>{alternation(CHANGE_WORDS)})\s*(?P<num>{NUMBER})\s*(?P<unit>%|个百分点)?$")
_SPLIT_PART = re.compile(rf"(?P<label>[\u4e00-\u9fff]{{1,6}}?)\s*{_VALUE}")
_TEXT_VALUE = re.compile(_VALUE)
_LOST_RATIO_COLON = re.compile(r"^\d+\.\d*1$")  # 1.941: 1.94:1 whose colon was lost
_ATTRIBUTE = re.compile(r"^(约束性|预期性|约束|预期|束性|期性)$")
_SKIP = re.compile(r"^(-+|—+|–+|/|\\|\*|无|暂无|.{0,8}要求)$")
_SEQUENCE = re.compile(r"^\d{1,3}$")

_HEADER_WORD = re.compile(
    r"^(序号|编号|类别|类型|领域|分类|指标|指标项|指标名称|主要指标|具体指标|单位|计量单位|属性|指标属性|"
    r"性质|备注|说明|项目)$"
)
_AREA_HEADER = re.compile(r"^[县市区]?[(][县市区镇乡、]{2,}[)]$|^(地区|区域|区县|县区|县市区|镇街|乡镇\(街道\)|镇\(街道\))$")
_KINDS = (  # header words -> column kind (damaged 标值/年基 included)
    ("growth", re.compile(alternation(AVERAGE_GROWTH_WORDS))),
    ("baseline", re.compile(r"基数|基期|基准|现状|年基$|^基$")),
    ("target", re.compile(r"目标值?|标值|规划值|预期值")),
    ("actual", re.compile(r"完成情况|完成值|完成|实际|实现值")),
)
_YEAR = re.compile(r"(?:19|20)\d{2}")
_PERIOD = re.compile("|".join(PERIODS))
_AREA_NAME = re.compile(r"[\u4e00-\u9fff]{1,8}[省市区县州盟旗镇]")
_SQUASH = re.compile(r"[\s\u00a0“”\"'‘’]")
_CAPTION = re.compile(r"表|指标|一览|情况|^\s*\d{1,2}\s+\S")  # 表1 …, 2 …一览表: a table's title
_MAX_CAPTIONS = 3
_NOTE = re.compile(r"^\s*(注|备注|说明|资料来源|数据来源|[*※])")  # a table's footnote: part of the table


def _squash(text: str) -> str:
    return _SQUASH.sub("", text)


@dataclass(frozen=True)
class Cell:
    line: int  # 1-based line number in the document
    text: str  # the (cleaned) line without surrounding whitespace
    offset: int  # where ``text`` starts in its line
    raw: str = ""  # the same characters as the original file writes them (for evidence)

    @property
    def quote(self) -> str:
        return self.raw or self.text

    @cached_property
    def kind(self) -> str:
        return classify(self.text)


@lru_cache(maxsize=1 << 16)  # cells repeat within and across documents (units, 属性, headers)
def classify(text: str) -> str:
    """ATTR (属性 cell), SKIP (国家要求, --), NUM (a value cell), UNIT (a unit on its own) or TEXT."""
    squashed = _squash(text)
    if _ATTRIBUTE.match(squashed):
        return "ATTR"
    if _SKIP.match(squashed):
        return "SKIP"
    inner = match.group("inner") if (match := _PERIOD_TOTAL.match(text)) else text
    if (_SIMPLE.match(inner) or _RATIO.match(inner) or _RANGE.match(inner) or _CHANGE.match(_squash(inner))
            or len(_split_parts(inner)) > 1):
        return "NUM"
    bare = squashed.strip("()（）")
    if bare and len(bare) <= 8 and (all(ch in _UNIT_CHARS for ch in bare) or bare.lower() in _ASCII_UNITS):
        return "UNIT"
    return "TEXT"


def _split_parts(text: str) -> list[re.Match]:
    """市区25县级20 -> two labelled values; [] unless the parts cover the whole cell."""
    squashed = _squash(text)
    parts = list(_SPLIT_PART.finditer(squashed))
    if len(parts) < 2 or "".join(p.group(0) for p in parts) != squashed:
        return []
    return parts


# --- readings of one value cell -----------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    value: float
    comparator: str
    value_type: str | None  # None: the indicator's own (level or cumulative)
    unit: str | None  # unit written in the cell
    label: str | None = None  # 市区 in 市区25县级20
    span: tuple[int, int] = (0, 0)  # of the number, in the cell text
    indicator_text: str | None = None  # a cell that names its own indicator (…占比不低于80%)


def _comparator(match: re.Match) -> str:
    if match.group("post"):
        return BOUND_AFTER[match.group("post")]
    if match.group("pre"):
        return BOUND_BEFORE[match.group("pre")]
    return "="


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def read_cell(text: str, *, rate: bool, in_ratio_row: bool = False) -> list[Reading]:
    """The figures of one value cell. ``rate``: the indicator is a percentage (提高3% is then 3 个百分点)."""
    if (match := _PERIOD_TOTAL.match(text)) is not None:
        shift = match.start("inner")
        return [Reading(r.value, r.comparator, r.value_type or "cumulative", r.unit, r.label,
                        (r.span[0] + shift, r.span[1] + shift), r.indicator_text)
                for r in read_cell(match.group("inner"), rate=rate, in_ratio_row=in_ratio_row)]
    if (match := _RANGE.match(text)) is not None:  # 4~5: the lower bound, at least
        return [Reading(_number(match.group("num")), ">=", None, match.group("unit"), span=match.span("num"))]
    if (match := _RATIO.match(text)) is not None:
        return [Reading(_number(match.group("num")), "=", "ratio", "", span=match.span("num"))]
    if in_ratio_row and _LOST_RATIO_COLON.match(text):
        return [Reading(_number(text[:-1]), "=", "ratio", "", span=(0, len(text)))]
    if (match := _SIMPLE.match(text)) is not None:
        return [Reading(_number(match.group("num")), _comparator(match), None, match.group("unit"),
                        span=match.span("num"))]
    squashed = _squash(text)
    if (match := _CHANGE.match(squashed)) is not None:
        value = _number(match.group("num")) * (-1 if match.group("verb") in DECLINE_WORDS else 1)
        points = match.group("unit") == "个百分点" or (rate and match.group("verb") in POINT_WORDS)
        start = text.find(match.group("num"))
        return [Reading(value, "=", "change_pp" if points else "change_pct", "个百分点" if points else "%",
                        span=(start, start + len(match.group("num"))))]
    if parts := _split_parts(text):
        readings = []
        for part in parts:
            start = text.find(part.group("num"), text.find(part.group("label")))
            readings.append(Reading(_number(part.group("num")), _comparator(part), None, part.group("unit"),
                                    label=part.group("label"), span=(start, start + len(part.group("num")))))
        return readings
    # A cell that states its own figure in words (域内融合型…占比不低于80%): its last number.
    numbers = [m for m in _TEXT_VALUE.finditer(text) if re.search(r"[\u4e00-\u9fff]", text[:m.start()])]
    if numbers:
        last = numbers[-1]
        return [Reading(_number(last.group("num")), _comparator(last), None, last.group("unit"),
                        span=last.span("num"), indicator_text=text[:last.start()].strip())]
    return []


# --- header: value columns ----------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    kind: str  # target / actual / baseline / annual_target
    year: int | None
    region: str | None  # None: the document's region
    growth: bool = False  # 年均增长 column: values are average annual growth rates


@lru_cache(maxsize=1 << 16)
def _is_header_cell(text: str) -> bool:
    squashed = _squash(text)
    if _HEADER_WORD.match(squashed) or _AREA_HEADER.match(squashed):
        return True
    if len(squashed) <= 16 and any(pattern.search(squashed) for _, pattern in _KINDS):
        return True
    bare = _YEAR.sub("", _PERIOD.sub("", squashed)).strip("年末底()")
    return bare == "" and squashed != ""


def _kind_of(squashed: str) -> str | None:
    return next((kind for kind, pattern in _KINDS if pattern.search(squashed)), None)


def _region_named(squashed: str, ctx: ExtractionContext) -> str | None:
    rest = _YEAR.sub("", _PERIOD.sub("", squashed))
    for _, pattern in _KINDS:
        rest = pattern.sub("", rest)
    match = _AREA_NAME.match(rest.replace("年", ""))
    if match is None or match.group(0) == ctx.region:
        return None
    return match.group(0)


def _default_year(kind: str, period: str | None, ctx: ExtractionContext) -> int | None:
    if period is not None:
        start, end = PERIODS[period]
        return start - 1 if kind == "baseline" else end
    if kind in ("target", "growth"):
        return ctx.period_end or ctx.year
    if ctx.period_start is not None:
        return ctx.period_start - 1
    return ctx.year - 1 if ctx.year else None


def _kind_from_year(year: int, ctx: ExtractionContext) -> str:
    if ctx.period_start is not None and ctx.period_end is not None:
        if year < ctx.period_start:
            return "baseline"
        return "target"
    if ctx.year is not None:
        return "actual" if year < ctx.year else "annual_target" if year == ctx.year else "target"
    return "actual"


def value_columns(header: list[Cell], ctx: ExtractionContext) -> tuple[list[Column], bool | None]:
    """The value columns a header names, in order, and where its 属性 column is: True after the value
    columns (the usual last column), False before them, None when the header has none."""
    columns: list[Column] = []
    pending: dict | None = None  # a year or period cell waiting for its kind word (2020 / 基数)
    attribute_last: bool | None = None

    def flush() -> None:
        if pending and pending["year"] is not None:
            columns.append(Column(_kind_from_year(pending["year"], ctx), pending["year"], pending["region"]))

    for cell in header:
        squashed = _squash(cell.text)
        if _HEADER_WORD.match(squashed) or _AREA_HEADER.match(squashed):
            if "属性" in squashed and attribute_last is None:
                attribute_last = bool(columns or pending)
            continue
        year = _YEAR.search(squashed)
        period = _PERIOD.search(squashed)
        region = _region_named(squashed, ctx)
        kind = _kind_of(squashed)
        if kind is None:
            if year or period:
                flush()
                pending = {"year": int(year.group(0)) if year else None,
                           "period": period.group(0) if period else None, "region": region}
            continue
        if pending and (kind == "growth" or (year and pending["year"]) or (period and pending["period"])):
            flush()  # 2020年 | 2025年目标, 2025年 | 年均增长: the waiting cell is a column of its own
            pending = None
        pending = pending or {"year": None, "period": None, "region": None}
        the_year = int(year.group(0)) if year else pending["year"]
        the_period = period.group(0) if period else pending["period"]
        if the_year is None:
            the_year = _default_year(kind, the_period, ctx)
        columns.append(Column("target" if kind == "growth" else kind, the_year, region or pending["region"],
                              growth=kind == "growth"))
        pending = None
    flush()
    return columns, attribute_last


# --- rows of an indicator table -----------------------------------------------------------------

@dataclass
class IndicatorRow:
    indicator: list[Cell]
    units: list[Cell] = field(default_factory=list)
    values: list[Cell] = field(default_factory=list)
    attribute: str | None = None
    last_line: int | None = None  # the 属性 cell's line, when the row has one
    sequence: int | None = None  # its 序号


def _merge_requirement_fragments(cells: list[Cell]) -> list[Cell]:
    """台州 / 市要求 (one cell broken over two lines) -> 台州市要求."""
    merged: list[Cell] = []
    for cell in cells:
        previous = merged[-1] if merged else None
        if (previous is not None and previous.kind == "TEXT" and len(_squash(previous.text)) <= 4
                and len(_squash(cell.text)) <= 3 and _squash(cell.text).endswith("要求")):
            merged[-1] = Cell(cell.line, previous.text + cell.text, cell.offset, previous.quote + cell.quote)
        else:
            merged.append(cell)
    return merged


def _row_from_segment(cells: list[Cell], attribute: Cell | None) -> IndicatorRow | None:
    """One row from the cells between two 属性 cells: [category] [序号] indicator [unit] values
    (a 属性 cell among them, when 属性 is not the last column, is taken out)."""
    attribute = attribute or next((cell for cell in cells if cell.kind == "ATTR"), None)
    cells = [cell for cell in cells if cell.kind != "ATTR"]
    kinds = [cell.kind for cell in cells]
    first_value = next((i for i, k in enumerate(kinds) if k in ("NUM", "SKIP")), len(cells))
    sequence = next((i for i, k in enumerate(kinds[:first_value + 1])
                     if k == "NUM" and _SEQUENCE.match(cells[i].text) and i + 1 < len(cells)
                     and kinds[i + 1] == "TEXT"), None)
    start = sequence + 1 if sequence is not None else 0
    texts = []
    position = start
    while position < len(cells) and kinds[position] == "TEXT":
        texts.append(cells[position])
        position += 1
    if not texts:
        return None
    indicator = texts if sequence is not None else texts[-1:]  # without 序号, earlier text is the 类别
    units = []
    while position < len(cells) and kinds[position] == "UNIT":
        units.append(cells[position])
        position += 1
    number = int(cells[sequence].text) if sequence is not None else None
    if attribute is None:
        return IndicatorRow(indicator, units, cells[position:], sequence=number)
    binding = "约束性" if "束" in attribute.text else "预期性"  # damaged 束性 / 期性
    return IndicatorRow(indicator, units, cells[position:], binding, attribute.line, number)


def _has_values(cells: list[Cell]) -> bool:
    """Whether a value cell follows a text cell (the row's indicator) in ``cells``."""
    kinds = [cell.kind for cell in cells]
    return "TEXT" in kinds and any(k in ("NUM", "SKIP") for k in kinds[kinds.index("TEXT"):])


_MAX_SEQUENCE_GAP = 3  # rows dropped from a numbered table (7 then 9) still leave the next 序号 near


def _is_sequence_cell(cells: list[Cell], index: int, previous: int) -> bool:
    """A 序号 cell: a small integer continuing the numbering, followed by the indicator."""
    return (cells[index].kind == "NUM" and _SEQUENCE.match(cells[index].text) is not None
            and index + 1 < len(cells) and cells[index + 1].kind == "TEXT"
            and 0 < int(cells[index].text) - previous <= _MAX_SEQUENCE_GAP)


def indicator_rows(body: list[Cell], attribute_last: bool | None) -> list[IndicatorRow]:
    """Rows of an indicator table. A 属性 cell closes its row when 属性 is the last column; otherwise
    (no 属性 column, 属性 before the values, or a 属性 cell lost) a row ends where the next one starts:
    at its 序号, or — in a table without closing 属性 cells — at a text cell after values."""
    cells = _merge_requirement_fragments(body)
    rows: list[IndicatorRow] = []
    by_attribute = attribute_last or (attribute_last is None and any(cell.kind == "ATTR" for cell in cells))
    segment: list[Cell] = []
    sequence = 0

    def close(attribute: Cell | None) -> None:
        row = _row_from_segment(segment, attribute)
        if row is not None and row.values:
            rows.append(row)
        segment.clear()

    for index, cell in enumerate(cells):
        if by_attribute and cell.kind == "ATTR":
            close(cell)
            continue
        kinds = [c.kind for c in segment]
        indicator_seen = "TEXT" in kinds and kinds.index("TEXT") < len(kinds) - 1
        if _is_sequence_cell(cells, index, sequence):
            sequence = int(cell.text)
            if indicator_seen:
                close(None)
        elif not by_attribute and cell.kind == "TEXT" and _has_values(segment):
            close(None)
        segment.append(cell)
    # The last row: kept when it has values (and, in a table with closing 属性 cells, its 序号: else it
    # is whatever short lines follow the table).
    last = _row_from_segment(segment, None)
    if last is not None and last.values and (not by_attribute or last.sequence is not None):
        rows.append(last)
    return rows


# --- rows of an area table ----------------------------------------------------------------------

@dataclass
class AreaRow:
    label: Cell | None  # None: the area cell was lost in flattening
    values: list[Cell]


def area_rows(body: list[Cell]) -> tuple[list[AreaRow], int]:
    """Rows of label + values, and the number of value columns (the most common row length).
    A run of values twice as long as a row is two rows, the second without its label."""
    runs: list[tuple[Cell | None, list[Cell]]] = []
    for cell in body:
        if cell.kind in ("NUM", "SKIP"):
            if not runs:
                runs.append((None, []))
            runs[-1][1].append(cell)
        else:
            runs.append((cell, []))
    lengths = Counter(len(values) for _, values in runs if values)
    if not lengths:
        return [], 0
    width = lengths.most_common(1)[0][0]
    rows: list[AreaRow] = []
    for label, values in runs:
        if width < 2 or not values or len(values) % width:
            continue
        for chunk in range(0, len(values), width):
            rows.append(AreaRow(label if chunk == 0 else None, values[chunk:chunk + width]))
    return rows, width


# --- tables in a document -----------------------------------------------------------------------

_MAX_ROW_CHARS = 100  # a table row written on one line (PDF text layers), cells separated by spaces
_TOKEN = re.compile(r"\S+")


def _is_header_row(tokens: list[str]) -> bool:
    """序号 指标 单位 2020年 2025年 属性 on one line."""
    if len(tokens) < 3:
        return False
    headers = 0
    for token in tokens:
        headers += _is_header_cell(token)
        if headers >= 3:
            return True
    return False


def _is_row_line(tokens: list[str]) -> bool:
    return len(tokens) >= 2 and any(classify(token) in ("NUM", "SKIP", "ATTR") for token in tokens)


def table_runs(lines: list[str], original: list[str] | None = None) -> list[list[Cell]]:
    """Runs of table cells: short lines, one cell each (blank lines between them ignored), or — after a
    header written on one line — rows written on one line, one cell per space-separated token.
    A prose line ends a run."""
    runs: list[list[Cell]] = [[]]
    rows_on_lines = False
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        source = original[number - 1] if original and number <= len(original) else None
        if "。" not in text and len(text) <= _MAX_ROW_CHARS and (
                _is_header_row(words := _TOKEN.findall(line)) or (rows_on_lines and _is_row_line(words))):
            rows_on_lines = True  # the short lines before the header (its caption) stay in the run
            tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(line)]
            runs[-1].extend(Cell(number, token, start, source[start:start + len(token)] if source else "")
                            for token, start in tokens)
            continue
        if len(text) > _MAX_CELL_CHARS or "。" in text:
            runs.append([])
            rows_on_lines = False
            continue
        offset = len(line) - len(line.lstrip())
        runs[-1].append(Cell(number, text, offset, source[offset:offset + len(text)] if source else ""))
    return [run for run in runs if len(run) >= 6]


class _Names:
    """Indicator keys of table cells (``match`` tolerates lost characters; ``exact`` does not)."""

    def __init__(self, matcher: IndicatorMatcher) -> None:
        self._matcher = matcher

    def __call__(self, text: str | None) -> str | None:
        mention = self._matcher.match(text) if text else None
        return mention.key if mention is not None else None

    def exact(self, text: str) -> str | None:
        return self._matcher.key_of(IndicatorMatcher.clean_cell(text))


@dataclass(frozen=True)
class Catalog:
    """What the extractors need from the indicator catalog: each key's unit and value kind."""

    unit: dict[str, str]
    value_kind: dict[str, str]

    @classmethod
    def of(cls, catalog: pl.DataFrame) -> Catalog:
        keys = catalog["indicator_key"].to_list()
        return cls(dict(zip(keys, catalog["unit"].fill_null("").to_list(), strict=True)),
                   dict(zip(keys, catalog["value_kind"].fill_null("").to_list(), strict=True)))

    @staticmethod
    def cached(catalog: pl.DataFrame) -> Catalog:
        """Catalog.of, made once per catalog content."""
        return built_once(Catalog.of, catalog)

    def value_type(self, key: str | None) -> str:
        return "cumulative" if self.value_kind.get(key or "") in ("cumulative", "count_new") else "level"

    def unit_for(self, key: str | None, value_type: str, written: str | None) -> str:
        return figure_unit(value_type, written or "", self.unit.get(key or "", ""))


_OPEN_UNIT = re.compile(rf"[(（]\s*([{_UNIT_CHARS}]*)\s*[)）]?\s*$")  # (亿元)  (%  (  ()
_CLOSE_UNIT = re.compile(rf"([{_UNIT_CHARS}]+)[)）]\s*$")  # 亿元) whose opening bracket was lost


def split_unit(text: str) -> tuple[str, str | None]:
    """(name, unit) of an indicator or header cell: 经济总量(亿元) -> 经济总量, 亿元; 城化率(% -> 城化率, %."""
    if (match := _OPEN_UNIT.search(text)) is not None:
        return text[:match.start()].strip(), match.group(1) or None
    if (match := _CLOSE_UNIT.search(text)) is not None:
        return text[:match.start()].strip(), match.group(1)
    return text.strip(), None


@dataclass
class TableFacts:
    rows: list[dict]
    lines: set[int]


def _fact(ctx: ExtractionContext, cell: Cell, reading: Reading, **fields) -> dict:
    return {"doc": ctx.doc, "line": cell.line, "value": reading.value, "comparator": reading.comparator,
            "char_start": cell.offset + reading.span[0], "char_end": cell.offset + reading.span[1], **fields}


def _indicator_table_facts(rows: list[IndicatorRow], columns: list[Column], ctx: ExtractionContext,
                           match: _Names, catalog: Catalog) -> list[dict]:
    facts = []
    for row in rows:
        name, written_unit = split_unit("".join(cell.text for cell in row.indicator))
        indicator_quote = "".join(cell.quote for cell in row.indicator)
        name = name.lstrip("*※").strip()
        if row.units:
            written_unit = "".join(cell.text for cell in row.units).strip("()（）")
        key = match(name)
        rate = (written_unit or catalog.unit.get(key or "", "")) == "%"
        in_ratio_row = any(_RATIO.match(cell.text) for cell in row.values)
        # Cells were lost from the left: a short row lacks its first value columns.
        shift = max(len(columns) - len(row.values), 0)
        for column, cell in zip(columns[shift:], row.values, strict=False):
            if cell.kind in ("SKIP", "ATTR", "UNIT"):
                continue
            for reading in read_cell(cell.text, rate=rate, in_ratio_row=in_ratio_row):
                # A cell that names its own indicator (…教共体占比不低于80%) is its own evidence.
                own_key = match(reading.indicator_text) if reading.indicator_text else None
                the_key = own_key or key
                value_type = reading.value_type or catalog.value_type(the_key)
                if column.growth:
                    growth_key = f"{the_key}_growth"
                    the_key = growth_key if growth_key in catalog.unit else the_key
                    value_type = "change_pct"
                unit = catalog.unit_for(the_key, value_type, reading.unit or written_unit)
                region = column.region or ctx.region
                facts.append(_fact(
                    ctx, cell, reading,
                    region=f"{region}({reading.label})" if reading.label else region,
                    kind=column.kind, indicator_text=reading.indicator_text if own_key else name,
                    indicator_key=the_key, value_type=value_type, unit=unit, year=column.year,
                    attribute=row.attribute, evidence=cell.quote if own_key else f"{indicator_quote} {cell.quote}",
                ))
    return facts


@dataclass(frozen=True)
class AreaColumn:
    raw: str  # header cell as written (fragments joined)
    name: str
    unit: str | None


def _merge_header_fragments(cells: list[Cell], width: int, match: _Names) -> list[AreaColumn] | None:
    """Header cells broken over lines, joined back into ``width`` columns: 人口数 / (万人), 产总值 / 亿元),
    and fragments that name an indicator only together (所含村 / 委会数)."""
    texts: list[str] = []
    quotes: list[str] = []
    for cell in cells:
        text = cell.text
        if texts and (text[0] in "(（" or (text[-1] in ")）" and "(" not in text and "（" not in text)):
            texts[-1] += text
            quotes[-1] += cell.quote
        else:
            texts.append(text)
            quotes.append(cell.quote)
    if texts and len(texts) > width and _AREA_HEADER.match(_squash(texts[0])):
        texts, quotes = texts[1:], quotes[1:]  # the area column's own header, 县(市、区)
    while len(texts) > width:
        def merit(i: int) -> tuple[bool, bool, int, int]:
            # Best: fragments that together spell a catalog name, then that name it with characters
            # lost, then that name nothing alone; else the shortest pair.
            joined = split_unit(texts[i] + texts[i + 1])[0]
            unnamed = sum(match(split_unit(part)[0]) is None for part in texts[i:i + 2])
            named = unnamed > 0 and match(joined) is not None
            return (named and match.exact(joined) is not None, named, unnamed, -len(joined))
        best = max(range(len(texts) - 1), key=merit)
        texts[best:best + 2] = [texts[best] + texts[best + 1]]
        quotes[best:best + 2] = [quotes[best] + quotes[best + 1]]
    if len(texts) != width:
        return None
    return [AreaColumn(quote, *split_unit(text)) for text, quote in zip(texts, quotes, strict=True)]


def _area_names(labels: list[Cell | None], regions: pl.DataFrame | None) -> list[str | None]:
    """Area of each row: its label repaired against the region list (海市 -> 临海市), and rows whose label
    was lost given the areas of the same parent that no row names, in the region list's order."""
    raw = [label.text if label else None for label in labels]
    if regions is None or regions.is_empty():
        return [text if text and _AREA_NAME.fullmatch(text) else None for text in raw]
    names = region_names(regions)
    code_of = dict(zip(names["name"], names["region_code"], strict=True))
    name_of = dict(zip(regions["region_code"], regions["name_zh"], strict=True))
    parent_of = dict(zip(regions["region_code"], regions["parent_code"], strict=True))
    codes = [code_of.get(text) if text else None for text in raw]
    parents = Counter(parent_of.get(code) for code in codes if code)
    if not parents:
        return [None] * len(raw)
    parent = parents.most_common(1)[0][0]
    siblings = regions.filter(pl.col("parent_code") == parent)
    sibling_names = names.filter(pl.col("region_code").is_in(siblings["region_code"].to_list()))
    for i, text in enumerate(raw):
        if text and codes[i] is None and len(text) >= 2:
            found = sibling_names.filter(pl.col("name").str.contains(text, literal=True))["region_code"].unique()
            codes[i] = found[0] if len(found) == 1 else None
    unused = [code for code in siblings["region_code"].to_list() if code not in codes]
    missing = [i for i, text in enumerate(raw) if text is None]
    if missing and len(missing) == len(unused):
        for i, code in zip(missing, unused, strict=True):
            codes[i] = code
    return [name_of.get(code) if code else text for code, text in zip(codes, raw, strict=True)]


def _area_table_facts(rows: list[AreaRow], columns: list[AreaColumn], year: int | None,
                      ctx: ExtractionContext, match: _Names, catalog: Catalog,
                      regions: pl.DataFrame | None) -> list[dict]:
    areas = _area_names([row.label for row in rows], regions)
    # A column named by what it counts (乡镇) holds the count (乡镇数).
    keys = [match(column.name) or match.exact(f"{column.name}数") for column in columns]
    facts = []
    for row, area in zip(rows, areas, strict=True):
        label = f"{row.label.quote} " if row.label else ""
        for column, key, cell in zip(columns, keys, row.values, strict=True):
            rate = catalog.unit.get(key or "", "") == "%"
            for reading in read_cell(cell.text, rate=rate):
                value_type = reading.value_type or catalog.value_type(key)
                facts.append(_fact(
                    ctx, cell, reading, region=area or ctx.region, kind="actual", indicator_text=column.name,
                    indicator_key=key, value_type=value_type,
                    unit=catalog.unit_for(key, value_type, reading.unit or column.unit),
                    year=year, attribute=None, evidence=f"{label}{column.raw} {cell.quote}",
                ))
    return facts


def read_table(run: list[Cell], ctx: ExtractionContext, match: _Names, catalog: Catalog,
               regions: pl.DataFrame | None = None) -> TableFacts | None:
    """The figures of one run of cells, or None when the run is not a table this module understands."""
    start = next((i for i, cell in enumerate(run)
                  if _HEADER_WORD.match(_squash(cell.text)) or _AREA_HEADER.match(_squash(cell.text))), None)
    if start is None:
        return None
    end = start
    while end < len(run) and _is_header_cell(run[end].text):
        end += 1
    columns, attribute_last = value_columns(run[start:end], ctx)
    if columns:
        rows = indicator_rows(run[end:], attribute_last)
        facts = _indicator_table_facts(rows, columns, ctx, match, catalog)
        last = max((cell.line for row in rows for cell in row.indicator + row.values), default=None)
        if row_end := max((row.last_line for row in rows if row.last_line), default=None):
            last = max(last or 0, row_end)
    else:
        body = next((i for i in range(start + 1, len(run)) if run[i].kind in ("NUM", "SKIP") or (
            i + 2 < len(run) and run[i + 1].kind == "NUM" and run[i + 2].kind == "NUM")), None)
        if body is None:
            return None
        rows, width = area_rows(run[body:])
        columns_across = _merge_header_fragments(run[start:body], width, match) if rows else None
        if not columns_across:
            return None
        captions = [m for cell in run[:start] for m in YEAR_IN_HEADING.finditer(cell.text)]
        year = int(captions[-1].group(1)) if captions else _default_year("actual", None, ctx)
        facts = _area_table_facts(rows, columns_across, year, ctx, match, catalog, regions)
        last = max(cell.line for row in rows for cell in row.values)
    if not facts or last is None:
        return None
    first = start
    while first > 0 and start - first < _MAX_CAPTIONS and _CAPTION.search(run[first - 1].text):
        first -= 1
    return TableFacts(facts, set(range(run[first].line, last + 1)))


def _notes_after(lines: list[str], last: int) -> set[int]:
    """Line numbers of the footnotes right after a table (备注:…, 注:…, *…), blank lines between included."""
    end = last
    for number in range(last + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.strip():
            if not _NOTE.match(line):
                break
            end = number
    return set(range(last + 1, end + 1))


def find_table_facts(lines: list[str], ctx: ExtractionContext, regions: pl.DataFrame | None = None,
                     original: list[str] | None = None) -> tuple[pl.DataFrame, set[int]]:
    """Figures of every flattened table in ``lines`` (FACT_SCHEMA rows) and the 1-based line numbers
    the tables occupy (captions included), which the prose extractor leaves alone.

    ``regions`` (the region reference; else ``ctx.regions`` if the context has it) lets an area table
    repair damaged area names; without it they stay as written. ``original`` (the lines as the file
    writes them, DecodedDocument.original) makes evidence quote the file rather than the cleaned text."""
    from pipelines.lib.extraction import FACT_SCHEMA  # extraction imports this module

    rows, occupied = table_fact_rows(lines, ctx, regions, original)
    return pl.DataFrame(rows, schema=FACT_SCHEMA), occupied


def table_fact_rows(lines: list[str], ctx: ExtractionContext, regions: pl.DataFrame | None = None,
                    original: list[str] | None = None) -> tuple[list[dict], set[int]]:
    """find_table_facts with the figures as dicts (FACT_SCHEMA keys), for callers that add rows of
    their own before making one frame."""
    match = _Names(ctx.from_catalog(cached_matcher))
    catalog = ctx.from_catalog(Catalog.cached)
    regions = regions if regions is not None else getattr(ctx, "regions", None)
    rows: list[dict] = []
    occupied: set[int] = set()
    for run in table_runs(lines, original):
        table = read_table(run, ctx, match, catalog, regions)
        if table is not None:
            rows.extend(table.rows)
            occupied |= table.lines | _notes_after(lines, max(table.lines))
    return rows, occupied
