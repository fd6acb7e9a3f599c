"""Figures in running text: each number with its indicator, kind, year, value type, unit, comparator
and evidence.

A line is width-normalized and compacted (pipelines.lib.numbers.compact), split into sentences, and
its figures are tied to indicators (pipelines.lib.attribution). Each figure then gets its value type
(level, change, cumulative, ratio, multiple, structure part), its kind and year from the section and
the year words around it (pipelines.lib.timing), and its comparator from the bound words around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipelines.lib.attribution import Attributor, Segments, span_of
from pipelines.lib.extract_context import ExtractionContext
from pipelines.lib.indicator_match import IndicatorMention, cached_matcher
from pipelines.lib.numbers import (
    AVERAGE_GROWTH_WORDS,
    CHANGE,
    DECLINE_WORDS,
    POINT_WORDS,
    UNIT_PATTERN,
    Quantity,
    compact,
    comparator,
    find_quantities,
    may_hold_figures,
)
from pipelines.lib.reading import normalize_line
from pipelines.lib.tables import Catalog
from pipelines.lib.timing import Section, YearWord, default_year, sections, year_words
from pipelines.lib.units import figure_unit

_SENTENCE = re.compile(r"[。;!?]")
_AVERAGE = re.compile(r"年均|年平均")
_AFTER_LAST_FIGURE = re.compile(rf"[\d.]+(?:{UNIT_PATTERN})?(?P<rest>[^\d]*)$")
_TO_LEVEL = re.compile(r"(?:提高|提升|增加|增长|上升|下降|降低|减少|缩小|扩大|调整)(?:到|至|为)")
_FROM = re.compile(r"[由从]")
_CUMULATIVE = re.compile(r"累计|合计|共计|总计")
_PERIOD_TOTAL = re.compile(r"期间|五年来|以来")
_INCREASE = re.compile(r"(?:共|累计|净)?(?:增加|扩大|增长|增)(?:了)?$")
_PER_YEAR = re.compile(r"每年|年均")
_ESTIMATE = re.compile(r"预计")
_THIS_YEAR = re.compile(r"年内|今年")
_RANK_OR_ORDINAL = re.compile(r"(?:第|前|列|居|位列|连续|(?<![超越])过)$")
_SKIP_AFTER = re.compile(r"^(?:级|星|A|强|周岁|后|型|号|期|批次|路公交|大|字)")
_OWN_VERB = re.compile(r"新增|新建|建成|创建|培育|培养|引进|实施|完成|实现|累计|打造|开展|改造|建设|增长|提高|提升|下降|减少")
_EVIDENCE_TAIL = re.compile(r"(?:的)?(?:左右|以上|以下|以内)")  # 500亿元左右: the bound word is evidence too
_SUBAREA = re.compile(r"(中心城区|主城区|老城区|高新区|开发区|其他建制镇|各建制镇|新城区|副城区)$")


@dataclass
class Figure:
    line: int
    key: str
    indicator_text: str
    kind: str
    year: int | None
    value: float
    value_type: str
    unit: str
    comparator: str
    comparator_source: str
    region: str | None
    attribute: str | None
    evidence: str
    char_start: int
    char_end: int


class ProseExtractor:
    """Extracts the figures of the prose lines of one document."""

    def __init__(self, ctx: ExtractionContext) -> None:
        self.ctx = ctx
        known = ctx.from_catalog(Catalog.cached)
        self.catalog_unit, self.value_kind = known.unit, known.value_kind
        self.matcher = ctx.from_catalog(cached_matcher)
        self.attributor = Attributor(self.matcher, self.catalog_unit)

    # --- per document ---------------------------------------------------------------------------

    def extract(self, lines: list[str], skip: set[int]) -> list[Figure]:
        secs = sections(lines, self.ctx)
        figures: list[Figure] = []
        for number, (line, section) in enumerate(zip(lines, secs, strict=True), start=1):
            if number not in skip and line.strip():
                figures.extend(self.extract_line(line, number, section))
        return figures

    # --- per line -------------------------------------------------------------------------------

    def extract_line(self, line: str, number: int, section: Section) -> list[Figure]:
        if not may_hold_figures(line):
            return []
        # Width normalization keeps every character in place, so evidence is cut from the line as given.
        text, origin = compact(normalize_line(line))
        quantities = find_quantities(text)
        if not quantities:
            return []
        mentions = self.matcher.find_all(text)
        # A number inside an indicator's own name (PM2.5, 5星级, 中国企业500强) is not a figure, unless the
        # name is a wording of the figure itself (困难家庭至少一人就业).
        quantities = [q for q in quantities if self._is_figure(text, q) and all(
            not (m.start < q.end and q.start < m.end) or (q.unit and self.attributor.unit_fits(q, m.key, text))
            for m in mentions)]
        figures: list[Figure] = []
        s_start = 0
        for s_end in [m.end() for m in _SENTENCE.finditer(text)] + [len(text)]:
            sent_q = [q for q in quantities if s_start <= q.start < s_end]
            if sent_q:
                sent_m = [m for m in mentions if s_start <= m.start < s_end]
                figures.extend(self._sentence(text, origin, line, number, section, s_start, s_end, sent_q, sent_m))
            s_start = s_end
        return figures

    def _is_figure(self, text: str, q: Quantity) -> bool:
        """Ranks (前5名, 第一), thresholds inside a name (过10万, 过亿) and numbers that name a thing
        (5星级, 4A级, 500强, 三大) are not figures."""
        if _RANK_OR_ORDINAL.search(text[max(0, q.start - 2):q.start]):
            return False
        return not (q.form == "number" and not q.unit and _SKIP_AFTER.match(text[q.end:q.end + 3]))

    def _sentence(self, text: str, origin: list[int], line: str, number: int, section: Section, s_start: int,
                  s_end: int, quantities: list[Quantity], mentions: list[IndicatorMention]) -> list[Figure]:
        segments = Segments.of(text, s_start, s_end)
        years = year_words(text[s_start:s_end], self.ctx)
        years = [YearWord(y.start + s_start, y.end + s_start, y.year, y.comparison, y.directly_before,
                          y.period_total) for y in years]
        figures: list[Figure] = []
        for q, mention in self.attributor.attribute(text, quantities, mentions, segments):
            fig = self._figure(text, origin, line, number, section, q, mention, years, segments.clauses, s_start,
                               figures[-1] if figures else None)
            if fig is not None:
                figures.append(fig)
        return figures


    # --- one figure -------------------------------------------------------------------------------

    def _figure(self, text: str, origin: list[int], line: str, number: int, section: Section, q: Quantity,
                mention: IndicatorMention, years: list[YearWord], clauses: list[tuple[int, int]], s_start: int,
                previous: Figure | None) -> Figure | None:
        ctx = self.ctx
        key = mention.key
        c_start = span_of(clauses, q.start)[0]
        anchor = mention.end if c_start <= mention.start and mention.end <= q.start else c_start
        before = text[anchor:q.start]
        after = text[q.end:q.end + 5]
        catalog_unit = self.catalog_unit.get(key, "")

        # A growth name without 年均 (地区生产总值增长6%) is one year's change of the quantity itself.
        base_key = key.removesuffix("_growth")
        names_change = self.value_kind.get(key) == "rate_of_change"
        if key.endswith("_growth") and base_key in self.catalog_unit and not _AVERAGE.search(mention.name):
            key = base_key
        value, unit, value_type = q.value, q.unit, "level"
        zone = _verb_zone(before)
        change = CHANGE.search(zone[-8:]) if before else None
        if q.form == "structure":
            value_type = "structure"
        elif q.form == "ratio" or not unit:
            value_type = "ratio"
        elif unit == "倍":
            value_type = "ratio_multiple"
        elif unit == "个百分点":
            value_type = "change_pp"
        elif names_change and unit == "%":
            value_type = "change_pct"
        elif change and unit == "%" and not _TO_LEVEL.search(zone[-8:]):
            word = change.group("w")
            if word in POINT_WORDS and catalog_unit == "%":
                value_type = "change_pp"  # 提高3% of a rate: 3 percentage points
            else:
                value_type = "change_pct"
            if word in AVERAGE_GROWTH_WORDS and not key.endswith("_growth") and f"{key}_growth" in self.catalog_unit:
                key = f"{key}_growth"
        if value_type in ("change_pct", "change_pp") and change and change.group("w") in DECLINE_WORDS \
                and not any(w in mention.name for w in DECLINE_WORDS):
            value = -value

        kind, year = self._kind_year(text, q, section, years, c_start, s_start, before, value_type)
        prefix = text[s_start:q.start]
        if value_type == "level" and (_CUMULATIVE.search(prefix) or _PERIOD_TOTAL.search(prefix)) \
                and f"{key}_cumulative" in self.catalog_unit:
            key = f"{key}_cumulative"  # 累计接待游客3600万人次、旅游综合收入约500亿元: period totals
        if value_type == "level" and _INCREASE.search(zone) and f"{key}_increase" in self.catalog_unit:
            key, value_type = f"{key}_increase", "cumulative"  # 十年共增加172309人
        if value_type == "level":
            value_kind = self.value_kind.get(key, "")
            if _CUMULATIVE.search(prefix[-20:]) or value_kind == "cumulative" or "累计" in mention.name:
                value_type = "cumulative"
            elif value_kind == "count_new" and kind in ("target", "actual") and ctx.doc_type != "work_report" \
                    and not _PER_YEAR.search(prefix[-20:]) and not key.endswith("_annual"):
                value_type = "cumulative"

        reported = kind in ("actual", "estimate", "baseline")
        if q.form == "range":
            comp, source = ">=", "after"
        else:
            words = zone
            words = CHANGE.sub("", words) if value_type in ("change_pct", "change_pp") else words
            comp, source = comparator(words, after, reported=reported, clause=text[c_start:q.start])
            if value_type == "ratio" and "缩小" in before and not reported:
                comp, source = "<=", "before"
            # One verb stated for a list applies to every item (达到180家、500家).
            if not source and previous is not None and previous.comparator_source == "before" \
                    and not reported and previous.kind == kind and not _OWN_VERB.search(before):
                comp, source = previous.comparator, "before"

        region = ctx.region
        if mention.start < q.start:
            sub = _SUBAREA.search(text[max(c_start, mention.start - 8):mention.start])
            if sub:
                region = sub.group(1)
        attribute = "预期性" if "预期目标" in text[:q.start] else None
        ev_start = min(mention.start, q.start) if mention.start >= c_start else c_start
        ev_end = max(q.end, mention.end if q.end <= mention.start < q.end + 6 else q.end)
        tail = _EVIDENCE_TAIL.match(text, ev_end)
        if tail:
            ev_end = tail.end()
        return Figure(number, key, mention.name, kind, year, value, value_type,
                      figure_unit(value_type, unit, catalog_unit), comp, source, region, attribute,
                      _evidence(line, origin, ev_start, ev_end, q), origin[q.start], origin[q.value_end - 1] + 1)

    def _kind_year(self, text: str, q: Quantity, section: Section, years: list[YearWord], c_start: int,
                   s_start: int, before: str, value_type: str) -> tuple[str, int | None]:
        ctx = self.ctx
        # 预计 opens a list of estimates that runs to the end of the paragraph.
        estimated = bool(_ESTIMATE.search(text, text.rfind("。", 0, q.start) + 1, q.start))
        if ctx.doc_type == "work_report":
            if section.mode == "plan" or _THIS_YEAR.search(text[s_start:q.start]):
                kind = "annual_target"
            else:
                kind = "estimate" if estimated else "actual"
        else:
            kind = "actual" if section.mode == "review" else "target"
            if estimated:
                kind = "estimate"
        clause = text[c_start:q.start]
        from_part = _FROM.search(clause)
        starts_from = bool(from_part) and bool(_TO_LEVEL.search(text[q.end:q.end + 12]))
        reaches_from = bool(from_part) and bool(_TO_LEVEL.search(clause[from_part.end():]))
        # The year named nearest before the figure in its sentence (not the base of a comparison).
        year = None
        for y in years:
            if y.end > q.start or y.year is None:
                continue
            if y.comparison:
                # 与2010年第六次人口普查的653765人: a level given for the compared year is that year's.
                between = text[y.end:q.start]
                if value_type == "level" and between.endswith("的") and not re.search(r"\d", between):
                    year = y.year
                continue
            if y.directly_before and y.end < q.start - 1:
                continue  # '2016年的2.15' belongs to 2.15 only
            if reaches_from and y.start > c_start + from_part.start():
                continue  # 由2016年的2.15缩小到2.04: 2016 is the start, not the end
            year = y.year
        if kind == "target" and starts_from:
            kind = "baseline"
            if year is None or (ctx.period_start and year >= ctx.period_start):
                year = default_year("baseline", ctx, section)
            return kind, year
        if year is None:
            year = default_year(kind, ctx, section)
        if kind == "target" and ctx.period_start and year < ctx.period_start and not reaches_from:
            kind = "actual"
        return kind, year


@lru_cache(maxsize=4096)  # the words between an indicator and its figure repeat (达到, 增长, 年均增长)
def _verb_zone(before: str) -> str:
    """The words that bind a figure: 分别达到300家和800家 gives 800 the verb before 300."""
    first = re.search(r"\d", before)
    if not first:
        return before
    tail = _AFTER_LAST_FIGURE.search(before).group("rest")
    return before[:first.start()] + tail.lstrip("和、及与,")


def _evidence(line: str, origin: list[int], start: int, end: int, q: Quantity) -> str:
    """An exact substring of the line holding the figure, under 45 characters without spaces."""
    start = min(max(start, end - 44), q.start)
    return line[origin[start]:origin[end - 1] + 1]


def figure_rows(figures: list[Figure], ctx: ExtractionContext) -> list[dict]:
    """The figures as dicts with the keys of pipelines.lib.extraction.FACT_SCHEMA."""
    return [{"doc": ctx.doc, "line": f.line, "region": f.region, "kind": f.kind, "indicator_text": f.indicator_text,
             "indicator_key": f.key, "value": f.value, "value_type": f.value_type, "unit": f.unit,
             "comparator": f.comparator, "year": f.year, "attribute": f.attribute, "evidence": f.evidence,
             "char_start": f.char_start, "char_end": f.char_end} for f in figures]
