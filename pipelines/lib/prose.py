"""Figures in running text: each number with its indicator, kind, year, comparator and evidence.

A line is compacted (pipelines.lib.numbers.compact), split into sentences and clauses, and every
figure is tied to the catalog indicator the clause names (pipelines.lib.indicator_match). Lists
(A、B均达100%, A和B分别达到X、Y) give one figure per indicator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from pipelines.lib.extract_context import ExtractionContext
from pipelines.lib.indicator_match import IndicatorMatcher, IndicatorMention, cached_matcher
from pipelines.lib.numbers import Quantity, compact, comparator, find_quantities
from pipelines.lib.timing import Section, YearWord, default_year, sections, year_words

_SENTENCE = re.compile(r"[^。;!?]+[。;!?]?")
_CLAUSE_END = re.compile(r",|(?<!\d):|:(?!\d)")
_LIST_JOIN = re.compile(r"^(?:、|和|及|与|以及|,|或)$")
_ALL = re.compile(r"均|都|全部|皆")
_RESPECTIVELY = "分别"
# Change words right before a figure (增长6.8%, 下降10.2%, 提高9.3个百分点).
_CHANGE = re.compile(r"(?P<w>年均增长|年均增速|年平均增长|增长|增速|增幅|下降|降低|减少|提高|提升|上升|降幅|回落|扩大|缩小)"
                     r"(?:了|率)?(?:为|达到|达)?$")
_DECLINE = ("下降", "降低", "减少", "降幅", "回落", "缩小")
_AVERAGE_GROWTH = ("年均增长", "年均增速", "年平均增长")
_TO_LEVEL = re.compile(r"(?:提高|提升|增加|增长|上升|下降|降低|减少|缩小|扩大)(?:到|至)")
_FROM = re.compile(r"[由从]")
_CUMULATIVE = re.compile(r"累计|合计|共计|总计")
_PER_YEAR = re.compile(r"每年|年均")
_ESTIMATE = re.compile(r"预计")
_RANK_OR_ORDINAL = re.compile(r"(?:第|前|列|居|排名|位列|连续)$")
_SKIP_AFTER = re.compile(r"^(?:级|星|A|强|周岁|后|型|号|期|批次|路公交)")
_COUNT_WORDS = {"个", "家", "户", "张", "所", "处", "座", "项", "条", "名", "人", "位", "件", "床", "套", "间"}
_SUBAREA = re.compile(r"(中心城区|主城区|老城区|高新区|开发区|其他建制镇|各建制镇|新城区|副城区)$")


@dataclass
class Figure:
    line: int
    quantity: Quantity
    mention: IndicatorMention | None
    key: str | None
    indicator_text: str
    kind: str
    year: int | None
    value: float
    value_type: str
    unit: str
    comparator: str
    region: str | None
    attribute: str | None
    evidence: str
    char_start: int
    char_end: int


def _spans(pattern: re.Pattern, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of text[start:end] cut after each delimiter matched by ``pattern``."""
    pieces, pos = [], start
    for m in pattern.finditer(text, start, end):
        pieces.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces


class ProseExtractor:
    """Extracts the figures of the prose lines of one document."""

    def __init__(self, ctx: ExtractionContext) -> None:
        self.ctx = ctx
        self.matcher: IndicatorMatcher = cached_matcher(ctx.catalog)
        catalog = ctx.catalog
        self.catalog_unit = dict(zip(catalog["indicator_key"], catalog["unit"].fill_null(""), strict=True))
        self.value_kind = dict(zip(catalog["indicator_key"], catalog["value_kind"].fill_null(""), strict=True))
        self.names = dict(zip(catalog["indicator_key"], catalog["name_zh"], strict=True))

    # --- per document ---------------------------------------------------------------------------

    def extract(self, lines: list[str], skip: set[int]) -> list[Figure]:
        secs = sections(lines, self.ctx)
        figures: list[Figure] = []
        for number, (line, section) in enumerate(zip(lines, secs, strict=True), start=1):
            if number in skip or not line.strip() or not any(ch.isdigit() for ch in line) and "百" not in line \
                    and "一" not in line:
                continue
            figures.extend(self.extract_line(line, number, section))
        return figures

    # --- per line -------------------------------------------------------------------------------

    def extract_line(self, line: str, number: int, section: Section) -> list[Figure]:
        text, origin = compact(line)
        quantities = find_quantities(text)
        if not quantities:
            return []
        mentions = self.matcher.find_all(text)
        # A number inside an indicator's own name (PM2.5, 5星级, 中国企业500强) is not a figure.
        quantities = [q for q in quantities if not any(m.start <= q.start and q.end <= m.end for m in mentions)
                      and not any(m.start < q.end <= m.end or m.start <= q.start < m.end for m in mentions)]
        quantities = [q for q in quantities if self._is_figure(text, q)]
        figures: list[Figure] = []
        for s_start, s_end in _spans(_SENTENCE, text, 0, len(text)):
            sent_q = [q for q in quantities if s_start <= q.start < s_end]
            if not sent_q:
                continue
            sent_m = [m for m in mentions if s_start <= m.start < s_end]
            years = year_words(text[s_start:s_end], self.ctx)
            years = [YearWord(y.start + s_start, y.end + s_start, y.year, y.comparison, y.directly_before,
                              y.period_total) for y in years]
            clauses = _spans(_CLAUSE_END, text, s_start, s_end)
            for q, mention_list in self._attribute(text, sent_q, sent_m, clauses):
                for mention in mention_list:
                    fig = self._figure(text, origin, line, number, section, q, mention, years, clauses, s_start)
                    if fig is not None:
                        figures.append(fig)
        return figures

    def _is_figure(self, text: str, q: Quantity) -> bool:
        before = text[max(0, q.start - 2):q.start]
        after = text[q.end:q.end + 3]
        if _RANK_OR_ORDINAL.search(before):
            return False
        if q.form == "number" and _SKIP_AFTER.match(after):
            return False
        if q.form == "number" and not q.unit and not (after.startswith("亿") or after.startswith("万")):
            # A bare number is a figure only for unitless indicators (ratios), decided later.
            return True
        return True

    # --- which indicator does each figure belong to -----------------------------------------------

    def _attribute(self, text: str, quantities: list[Quantity], mentions: list[IndicatorMention],
                   clauses: list[tuple[int, int]]) -> list[tuple[Quantity, list[IndicatorMention | None]]]:
        out: list[tuple[Quantity, list[IndicatorMention | None]]] = []
        used: dict[int, int] = {}  # mention index -> figures tied to it
        paired: dict[int, IndicatorMention] = {}  # quantity index -> mention from 分别
        for qi, q in enumerate(quantities):
            if qi in paired:
                out.append((q, [paired[qi]]))
                continue
            c_start, c_end = next(((a, b) for a, b in clauses if a <= q.start < b), (q.start, q.end))
            before = [i for i, m in enumerate(mentions) if c_start <= m.start and m.end <= q.start]
            after = [i for i, m in enumerate(mentions) if m.start >= q.end and m.start < c_end]
            nxt = after[0] if after and mentions[after[0]].start - q.end <= 3 else None
            if before and not (nxt is not None and used.get(before[-1])):
                idx = before[-1]
                group = self._group(text, mentions, before)
                between = text[mentions[idx].end:q.start]
                later_q = [j for j in range(qi, len(quantities))
                           if not any(mentions[k].start < quantities[j].start for k in after)
                           and quantities[j].form == q.form]
                if len(group) > 1 and _RESPECTIVELY in between:
                    for j, g in zip(later_q, group, strict=False):
                        paired[j] = mentions[g]
                    out.append((q, [paired.pop(qi, mentions[idx])]))
                    for g in group:
                        used[g] = used.get(g, 0) + 1
                    continue
                if len(group) > 1 and (_ALL.search(between) or len(later_q) == 1):
                    out.append((q, [mentions[g] for g in group]))
                    for g in group:
                        used[g] = used.get(g, 0) + 1
                    continue
                used[idx] = used.get(idx, 0) + 1
                out.append((q, [mentions[idx]]))
                continue
            if nxt is not None or after:
                idx = nxt if nxt is not None else after[0]
                used[idx] = used.get(idx, 0) + 1
                out.append((q, [mentions[idx]]))
                continue
            # No indicator in the clause: the last one named earlier in the sentence.
            earlier = [i for i, m in enumerate(mentions) if m.end <= q.start]
            if earlier:
                idx = earlier[-1]
                between = text[mentions[idx].end:q.start]
                if _RESPECTIVELY in between:
                    group = self._sentence_group(mentions, earlier, quantities, qi, text)
                    if group:
                        later_q = [j for j in range(qi, len(quantities)) if quantities[j].form == q.form
                                   and quantities[j].unit == q.unit][:len(group)]
                        for j, g in zip(later_q, group, strict=False):
                            paired[j] = mentions[g]
                        out.append((q, [paired.pop(qi)]))
                        continue
                out.append((q, [mentions[idx]]))
                continue
            out.append((q, [None]))
        return out

    @staticmethod
    def _group(text: str, mentions: list[IndicatorMention], before: list[int]) -> list[int]:
        """The mentions listed together (A、B和C) that end with the last mention of ``before``."""
        group = [before[-1]]
        for i in reversed(before[:-1]):
            gap = text[mentions[i].end:mentions[group[0]].start]
            if _LIST_JOIN.match(gap):
                group.insert(0, i)
            else:
                break
        return group

    @staticmethod
    def _sentence_group(mentions: list[IndicatorMention], earlier: list[int], quantities: list[Quantity],
                        qi: int, text: str) -> list[int]:
        """For 分别 after figures in earlier clauses: the mentions of the figures the multiples refer to."""
        count = sum(1 for q in quantities[qi:] if q.unit == quantities[qi].unit)
        chosen = [i for i in earlier if text[mentions[i].end:mentions[i].end + 1] != "的"]
        return chosen[-count:] if count <= len(chosen) else []

    # --- one figure -------------------------------------------------------------------------------

    def _figure(self, text: str, origin: list[int], line: str, number: int, section: Section, q: Quantity,
                mention: IndicatorMention | None, years: list[YearWord], clauses: list[tuple[int, int]],
                s_start: int) -> Figure | None:
        ctx = self.ctx
        key = mention.key if mention else None
        if key is None:
            return None
        c_start = next((a for a, b in clauses if a <= q.start < b), s_start)
        anchor = mention.end if mention.end <= q.start and mention.start >= c_start else c_start
        if mention.end <= q.start and mention.start < c_start:
            anchor = c_start
        before = text[anchor:q.start]
        after = text[q.end:q.end + 4]
        catalog_unit = self.catalog_unit.get(key, "")

        # value type and unit
        value, unit, value_type = q.value, q.unit, "level"
        change = _CHANGE.search(before[-8:]) if before else None
        if q.form == "structure":
            value_type, unit = "structure", "%"
        elif q.form == "ratio":
            value_type, unit = "ratio", ""
        elif unit == "倍":
            value_type = "ratio_multiple"
        elif unit in ("个百分点", "百分点"):
            value_type, unit = "change_pp", "个百分点"
        elif not unit:
            if catalog_unit:
                return None
            value_type = "ratio"
        elif change and unit == "%" and not _TO_LEVEL.search(before[-8:]):
            word = change.group("w")
            if word in ("提高", "提升", "上升", "下降", "降低") and catalog_unit == "%" and "率" in (
                    self.names.get(key) or "") + mention.name:
                value_type, unit = "change_pp", "个百分点"
            else:
                value_type = "change_pct"
            if word in _AVERAGE_GROWTH and not key.endswith("_growth") and f"{key}_growth" in self.catalog_unit:
                key = f"{key}_growth"
        if value_type in ("change_pct", "change_pp") and change and change.group("w") in _DECLINE \
                and not any(w in mention.name for w in _DECLINE):
            value = -value

        # kind and year
        kind, year = self._kind_year(text, q, section, years, c_start, s_start, before)
        sentence_text = text[s_start:q.start]
        if value_type == "level":
            vk = self.value_kind.get(key, "")
            if _CUMULATIVE.search(sentence_text[-20:]) or vk == "cumulative" or "累计" in mention.name:
                value_type = "cumulative"
            elif vk == "count_new" and kind in ("target", "actual") and ctx.doc_type != "work_report" \
                    and not _PER_YEAR.search(sentence_text[-15:]) and not key.endswith("_annual"):
                value_type = "cumulative"

        reported = kind in ("actual", "estimate", "baseline")
        if q.form == "range":
            comp = ">="
        elif value_type in ("change_pct", "change_pp") and not reported:
            comp = comparator(_strip_change(before), after, reported=False)
        else:
            comp = comparator(before, after, reported=reported)
        if value_type == "ratio" and re.search(r"缩小", before):
            comp = "<=" if not reported else comp

        unit = self._unit(unit, catalog_unit, value_type)
        region = ctx.region
        sub = _SUBAREA.search(text[max(c_start, mention.start - 8):mention.start]) if mention.start < q.start else None
        if sub:
            region = sub.group(1)
        attribute = "预期性" if "预期目标" in text[:q.start] else None
        ev_start = min(mention.start, q.start) if mention.start >= c_start else c_start
        ev_end = max(q.end, mention.end if mention.start >= q.end and mention.start < q.end + 6 else q.end)
        tail = re.match(r"(?:的)?(?:左右|以上|以下|以内)", text[ev_end:])
        if tail:
            ev_end += tail.end()
        evidence = _evidence(line, origin, ev_start, ev_end, q)
        return Figure(number, q, mention, key, mention.name, kind, year, value, value_type, unit, comp, region,
                      attribute, evidence, origin[q.start], origin[q.end - 1] + 1)

    def _kind_year(self, text: str, q: Quantity, section: Section, years: list[YearWord], c_start: int,
                   s_start: int, before: str) -> tuple[str, int | None]:
        ctx = self.ctx
        prefix = text[s_start:q.start]
        # 预计 opens a list of estimates that runs to the end of the paragraph.
        estimated = bool(_ESTIMATE.search(text[:q.start]))
        if ctx.doc_type == "work_report":
            if section.mode == "plan" or re.search(r"年内|今年", prefix):
                kind = "annual_target"
            else:
                kind = "estimate" if estimated else "actual"
        else:
            kind = "actual" if section.mode == "review" else "target"
            if estimated:
                kind = "estimate"
        # The year named nearest before the figure in its sentence.
        year = None
        for y in years:
            if y.end > q.start or y.year is None:
                continue
            if y.comparison and q.unit == "倍":
                continue
            if y.comparison:
                continue
            if y.directly_before and y.end < q.start - 1:
                continue
            year = y.year
        if year is None:
            # A year written right after the figure's clause start is rare; fall back to the section.
            year = default_year(kind, ctx, section)
        if kind == "target" and ctx.period_start and year is not None and year < ctx.period_start:
            kind = "actual"
        if kind == "target" and _FROM.search(before) and _TO_LEVEL.search(text[q.end:q.end + 12]):
            kind = "baseline"
            year = year if year and ctx.period_start and year < ctx.period_start else (
                (ctx.period_start - 1) if ctx.period_start else year)
        return kind, year

    def _unit(self, unit: str, catalog_unit: str, value_type: str) -> str:
        if value_type == "change_pct" or value_type == "structure":
            return "%"
        if value_type == "change_pp":
            return "个百分点"
        if value_type == "ratio_multiple":
            return "倍"
        if value_type == "ratio":
            return ""
        if unit == "名":
            unit = "人"
        if unit in ("亿", "万") and catalog_unit:
            base = catalog_unit.lstrip("万亿千百")
            return unit + base
        # The same counted thing takes the catalog's counting word (托位 张 -> 个, firms 户 -> 家).
        magnitude = unit[:-1] if len(unit) > 1 and unit[:-1] in ("万", "亿") else ""
        base = unit[len(magnitude):]
        cat_base = catalog_unit.lstrip("万亿")
        if base in _COUNT_WORDS and cat_base in _COUNT_WORDS and base != cat_base:
            return magnitude + cat_base
        return unit


def _strip_change(before: str) -> str:
    return _CHANGE.sub("", before)


def _evidence(line: str, origin: list[int], start: int, end: int, q: Quantity) -> str:
    """An exact substring of the line holding the figure, under 45 characters without spaces."""
    start = max(start, end - 44)
    start = min(start, q.start)
    return line[origin[start]:origin[end - 1] + 1]


def figures_frame(figures: list[Figure], ctx: ExtractionContext, schema: dict) -> pl.DataFrame:
    rows = [
        {
            "doc": ctx.doc, "line": f.line, "region": f.region, "kind": f.kind, "indicator_text": f.indicator_text,
            "indicator_key": f.key, "value": f.value, "value_type": f.value_type, "unit": f.unit,
            "comparator": f.comparator, "year": f.year, "attribute": f.attribute, "evidence": f.evidence,
            "char_start": f.char_start, "char_end": f.char_end,
        }
        for f in figures
    ]
    return pl.DataFrame(rows, schema=schema)
