"""Figures in running text: each number with its indicator, kind, year, comparator and evidence.

A line is compacted (pipelines.lib.numbers.compact), split into sentences, clauses (,:) and items
(、), and every figure is tied to the catalog indicator its item or clause names
(pipelines.lib.indicator_match), checked against the indicator's unit. Lists (A、B均达100%,
A和B分别达到X、Y) give one figure per indicator; ellipses (建成2个国家级、4个省级重点专科,
人均达21.6万元, 城乡居民收入分别达X、Y) are completed from the neighbouring name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from pipelines.lib.extract_context import ExtractionContext
from pipelines.lib.indicator_match import IndicatorMatcher, IndicatorMention, cached_matcher
from pipelines.lib.numbers import (
    UNIT_PATTERN,
    Quantity,
    compact,
    comparator,
    find_quantities,
    units_compatible,
)
from pipelines.lib.reading import normalize_line
from pipelines.lib.timing import Section, YearWord, default_year, sections, year_words

_SENTENCE = re.compile(r"[。;!?]")
_CLAUSE_END = re.compile(r",|(?<!\d):|:(?!\d)")
_ITEM_END = re.compile(r",|、|[和及与](?=\d)|(?<!\d):|:(?!\d)")
_LIST_JOIN = re.compile(r"^(?:、|和|及|与|以及|,|或|、以及)$")
_ALL = re.compile(r"均|都|全部|皆")
_RESPECTIVELY = "分别"
# Change words right before a figure (增长6.8%, 下降10.2%, 提高9.3个百分点).
_CHANGE = re.compile(r"(?P<w>年均增长|年均增速|年平均增长|增长|增速|增幅|下降|降低|减少|提高|提升|上升|降幅|回落|扩大|缩小)"
                     r"(?:了|率)?(?:为|达到|达|约)?$")
_DECLINE = ("下降", "降低", "减少", "降幅", "回落", "缩小")
_AVERAGE_GROWTH = ("年均增长", "年均增速", "年平均增长")
_AVERAGE = re.compile(r"年均|年平均")
_YEAR_TEXT = re.compile(r"(?:19|20)\d{2}年")
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
_ADJACENT_GAP = re.compile(r"^(?:的|以上的?|左右的?|以内的?|多|余)?$")
_VERB = re.compile(r"[\u4e00-\u9fff]")
_OWN_VERB = re.compile(r"新增|新建|建成|创建|培育|培养|引进|实施|完成|实现|累计|打造|开展|改造|建设|增长|提高|提升|下降|减少")
_QUALIFIER = re.compile(r"^[\u4e00-\u9fff]{1,6}级$|^[\u4e00-\u9fff]{1,4}[省市区县]$")
_SUBAREA = re.compile(r"(中心城区|主城区|老城区|高新区|开发区|其他建制镇|各建制镇|新城区|副城区)$")
_URBAN_RURAL = re.compile(r"城乡")
# 占全市的13.15%, 达到建成区面积的55%: a share of some base.
_SHARE_OF = re.compile(r"(?:占|达到)(?P<base>[^,、的\d]{2,12})的?(?:比重|比例)?(?:为|达到?)?$")
# The word an item opens with before its verb: 人均达, 总投资, 产值突破.
_LEADING_NOUN = re.compile(r"^(?P<noun>[\u4e00-\u9fff]{2,12}?)(?:突破|达到|超过|达|超|为|约|实现|增至|提高到|保持|稳定在)?$")
_BOUND_WORDS = re.compile(r"(?:达到|达|超过|突破|为|约|增至|提高到|保持在|稳定在|控制在|不低于|不少于|不超过)$")
_CLAUSE_VERB = re.compile(r"新建|建成|创建|培育|培养|引进|新增|实施|打造|提档升级|招引|改造|建设")
_BOUND_TAIL = re.compile(r"^(?:的)?(?:左右|以上|以下|以内|之内|多|余)?(?:相比较?|比较)?[,、;。:]*")
_NOUN = re.compile(r"[\u4e00-\u9fff]{2}")
_COUNT_WORDS = {"个", "家", "户", "张", "所", "处", "座", "项", "条", "名", "人", "位", "件", "床", "套", "间"}
_STRUCTURE_PARTS = ("(第一产业)", "(第二产业)", "(第三产业)")


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


def _spans(pattern: re.Pattern, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of text[start:end] cut after each delimiter matched by ``pattern``."""
    pieces, pos = [], start
    for m in pattern.finditer(text, start, end):
        pieces.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces


def _span_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    return next(((a, b) for a, b in spans if a <= pos < b), (pos, pos + 1))


class ProseExtractor:
    """Extracts the figures of the prose lines of one document."""

    def __init__(self, ctx: ExtractionContext) -> None:
        self.ctx = ctx
        self.matcher: IndicatorMatcher = cached_matcher(ctx.catalog)
        catalog = ctx.catalog
        keys = catalog["indicator_key"].to_list()
        self.catalog_unit = dict(zip(keys, catalog["unit"].fill_null("").to_list(), strict=True))
        self.value_kind = dict(zip(keys, catalog["value_kind"].fill_null("").to_list(), strict=True))
        self.structure_keys = [self.matcher.key_of(f"三次产业比重{part}") for part in _STRUCTURE_PARTS]

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
        # Width normalization keeps every character in place, so evidence is cut from the line as given.
        text, origin = compact(normalize_line(line))
        quantities = find_quantities(text)
        if not quantities:
            return []
        mentions = self.matcher.find_all(text)
        # A number inside an indicator's own name (PM2.5, 5星级, 中国企业500强) is not a figure, unless the
        # name is a wording of the figure itself (困难家庭至少一人就业).
        quantities = [q for q in quantities if self._is_figure(text, q) and all(
            not (m.start < q.end and q.start < m.end) or (q.unit and self._unit_fits(q, m.key, text))
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
        clauses = _spans(_CLAUSE_END, text, s_start, s_end)
        items = _spans(_ITEM_END, text, s_start, s_end)
        years = year_words(text[s_start:s_end], self.ctx)
        years = [YearWord(y.start + s_start, y.end + s_start, y.year, y.comparison, y.directly_before,
                          y.period_total) for y in years]
        figures: list[Figure] = []
        for q, mention in self._attribute(text, quantities, mentions, clauses, items):
            fig = self._figure(text, origin, line, number, section, q, mention, years, clauses, s_start,
                               figures[-1] if figures else None)
            if fig is not None:
                figures.append(fig)
        return figures

    # --- which indicator does each figure belong to -----------------------------------------------

    def _unit_fits(self, q: Quantity, key: str | None, text: str) -> bool:
        if key is None:
            return False
        if q.form in ("structure", "ratio") or q.unit in ("倍", "个百分点", "百分点"):
            return True
        if q.unit == "%" and _CHANGE.search(text[max(0, q.start - 8):q.start]):
            return True  # a change in % fits any indicator
        if not q.unit:
            return not self.catalog_unit.get(key)  # a bare number belongs to a unitless indicator (a ratio)
        return units_compatible(q.unit, self.catalog_unit.get(key, ""))

    def _attribute(self, text: str, quantities: list[Quantity], mentions: list[IndicatorMention],
                   clauses: list[tuple[int, int]], items: list[tuple[int, int]]
                   ) -> list[tuple[Quantity, IndicatorMention]]:
        out: list[tuple[Quantity, IndicatorMention]] = []
        used: dict[int, int] = {}  # mention index -> figures tied to it
        paired: dict[int, list[IndicatorMention]] = {}  # quantity index -> mentions chosen by a list
        for qi, q in enumerate(quantities):
            if qi in paired:
                out.extend((q, m) for m in paired.pop(qi))
                continue
            if q.form == "structure":
                key = self.structure_keys[q.part] if q.part < len(self.structure_keys) else None
                stem = text.rfind("产业", 0, q.start)
                if key and stem >= 0:
                    out.append((q, IndicatorMention(stem, stem + 2, key, f"三次产业比重{_STRUCTURE_PARTS[q.part]}")))
                continue
            c_start, c_end = _span_of(clauses, q.start)
            i_start, i_end = _span_of(items, q.start)
            before = [i for i, m in enumerate(mentions) if c_start <= m.start and m.end <= q.start]
            if q.form == "number" and q.part and before:
                # 医疗床位(其中护理床位)达到10560(2640)张: the bracketed figure to the bracketed name.
                bracketed = [i for i in before if _in_brackets(text[mentions[i].end:q.start])]
                plain = [i for i in before if i not in bracketed]
                chosen = bracketed if q.part == 2 else plain
                if chosen and self._unit_fits(q, mentions[chosen[-1]].key, text):
                    out.append((q, mentions[chosen[-1]]))
                    continue
            after = [i for i, m in enumerate(mentions) if q.end <= m.start < c_end]
            adjacent = after[0] if after and _ADJACENT_GAP.match(text[q.end:mentions[after[0]].start]) else None
            listed = self._listed(text, qi, q, quantities, mentions, before, after, c_start, out)
            if listed:
                paired.update(listed)
                out.extend((q, m) for m in paired.pop(qi))
                for i in before:
                    used[i] = used.get(i, 0) + 1
                continue
            mention = self._choose(text, q, mentions, before, after, adjacent, used, c_start, c_end, i_start, i_end)
            if mention is not None:
                out.append((q, mention))
        return out

    def _choose(self, text: str, q: Quantity, mentions: list[IndicatorMention], before: list[int],
                after: list[int], adjacent: int | None, used: dict[int, int], c_start: int, c_end: int,
                i_start: int, i_end: int) -> IndicatorMention | None:
        """The indicator of one figure: its item's name, a name right after it, a scattered or elided
        name, else the last name of the clause or sentence. The first whose unit fits wins."""
        candidates: list[tuple[int | None, IndicatorMention | None]] = []
        in_item = [i for i in before if mentions[i].start >= i_start]
        if in_item:
            candidates.append((in_item[-1], mentions[in_item[-1]]))
        if adjacent is not None:
            position = 0 if in_item and used.get(in_item[-1]) else len(candidates)
            candidates.insert(position, (adjacent, mentions[adjacent]))
        item_text = text[i_start:i_end]
        # A longer name written whole around the figure (每个周期选评5名省特级教师) beats a shorter one inside it.
        for whole in self.matcher.find_scattered(item_text, min_cover=1.0)[:1]:
            whole = IndicatorMention(whole.start + i_start, whole.end + i_start, whole.key, whole.name)
            inside = [m for _, m in candidates if m is not None and whole.start <= m.start and m.end <= whole.end]
            if inside and len(whole.name) > max(len(m.name) for m in inside):
                candidates.insert(0, (None, whole))
        share = self._share(text, q, i_start, mentions, before)
        if share is not None:
            candidates.insert(0, (None, share))
        if not in_item and adjacent is None:
            candidates.append((None, self._noun_after(text, q, c_start, c_end, i_end)))
            candidates.extend((None, IndicatorMention(m.start + i_start, m.end + i_start, m.key, m.name))
                              for m in self.matcher.find_scattered(item_text)[:3])
            candidates.append((None, self._elided(text, q, mentions, after, c_start, i_start)))
        earlier = [i for i, m in enumerate(mentions) if m.end <= q.start]
        if earlier and not in_item:
            for composed in (self._composed(text, q, mentions[earlier[-1]], i_start),
                             self._parallel(text, q, mentions[earlier[-1]], i_start)):
                if composed is not None:
                    candidates.insert(0, (None, composed))
        # Names outside the figure's item are a fallback only when the item names nothing else
        # (增长6.8% after 地区生产总值2720亿元, not 97个三星级康居乡村 after 6个特色田园乡村).
        trailing = _BOUND_TAIL.sub("", text[q.end:i_end])
        if not _NOUN.search(trailing) and q.unit:
            if before:
                candidates.append((before[-1], mentions[before[-1]]))
            if earlier and not before:
                candidates.append((earlier[-1], mentions[earlier[-1]]))
        if after and (mentions[after[0]].start < i_end or text[mentions[after[0]].start - 1] == "的"):
            # 培育10个镇区人口过10万、…的新生小城市: a count described before its noun.
            candidates.append((after[0], mentions[after[0]]))
        for idx, mention in candidates:
            if mention is not None and self._unit_fits(q, mention.key, text):
                if idx is not None:
                    used[idx] = used.get(idx, 0) + 1
                return mention
        return None

    def _composed(self, text: str, q: Quantity, named: IndicatorMention, i_start: int) -> IndicatorMention | None:
        """An item that names its figure with a word relative to the last name (人均达21.6万元,
        总投资4.75亿美元, 产值突破50亿元): that word joined to the name or its stem."""
        head = _LEADING_NOUN.match(text[i_start:q.start])
        if not head or _CHANGE.search(head.group("noun")) or _SHARE_OF.search(text[i_start:q.start]):
            return None
        word = head.group("noun")
        names = [word + named.name] if word == "人均" else [
            named.name[:cut] + word for cut in range(len(named.name), 1, -1)]
        for name in names:
            key = self.matcher.key_of(name)
            if key:
                return IndicatorMention(i_start, q.start, key, name)
        return None

    def _share(self, text: str, q: Quantity, i_start: int, mentions: list[IndicatorMention],
               before: list[int]) -> IndicatorMention | None:
        """占全市的13.15%, 海绵城市建设面积达到建成区面积的55%: subject 占 base 比重/比例."""
        if q.unit not in ("%", "‰"):
            return None
        item = text[i_start:q.start]
        share = _SHARE_OF.search(item)
        if not share:
            return None
        base = share.group("base")
        subject = item[:share.start()]
        subjects = [subject[cut:] for cut in range(len(subject) - 1)]
        named = [m for i, m in enumerate(mentions) if m.end <= i_start + share.start()]
        if named:
            name = named[-1].name
            subjects += [name[:cut] for cut in range(len(name), 1, -1)]
        for subject in subjects:
            for tail in ("比重", "比例"):
                name = f"{subject}占{base}{tail}"
                key = self.matcher.key_of(name)
                if key:
                    return IndicatorMention(i_start, q.start, key, name)
        return None

    def _parallel(self, text: str, q: Quantity, named: IndicatorMention, i_start: int) -> IndicatorMention | None:
        """5星级养老机构达到2家, 4星级机构12家: the item's own words over the last name's pattern."""
        own = _BOUND_WORDS.sub("", text[i_start:q.start])
        if len(own) < 2 or own == named.name:
            return None
        for keep in range(len(own), 0, -1):
            for cut in range(keep, len(named.name)):
                name = own[:keep] + named.name[cut:]
                if name.endswith(own[keep:]):
                    key = self.matcher.key_of(name)
                    if key and key != named.key:
                        return IndicatorMention(i_start, q.start, key, name)
        return None

    def _noun_after(self, text: str, q: Quantity, c_start: int, c_end: int, i_end: int) -> IndicatorMention | None:
        """新建…等13所中小学校, 培养10名医学领军人才、30名医学创新人才: the clause's verb and the noun
        after the figure."""
        verb = _CLAUSE_VERB.search(text, c_start, q.start)
        for end in (i_end, c_end):
            phrase = _BOUND_TAIL.sub("", text[q.end:end]).rstrip(",、;。")
            for name in ((verb.group() + phrase) if verb else None, phrase):
                if name and len(name) >= 3:
                    key = self.matcher.key_of(name)
                    if key:
                        return IndicatorMention(q.end, end, key, name)
        return None

    def _elided(self, text: str, q: Quantity, mentions: list[IndicatorMention], after: list[int], c_start: int,
                i_start: int) -> IndicatorMention | None:
        """建成2个国家级、4个省级医学重点专科: the qualifier after the figure plus the head of the next name."""
        qualifier = text[q.end:]
        item_end = re.search(r"[、,和及与]", qualifier)
        qualifier = qualifier[:item_end.start()] if item_end else ""
        qualifier = re.sub(r"^(?:以上|左右|个|家|所|项)", "", qualifier)
        if not qualifier or not _QUALIFIER.match(qualifier) or not after:
            return None
        head_name = mentions[after[0]].name
        verb = re.sub(r"^.*?(新增|新建|建成|创建|培育|引进)$", r"\1", text[c_start:q.start]) \
            if re.search(r"(新增|新建|建成|创建|培育|引进)$", text[c_start:q.start]) else ""
        for cut in range(1, len(head_name) - 1):
            head = head_name[cut:]
            for name in (verb + qualifier + head, qualifier + head):
                key = self.matcher.key_of(name)
                if key:
                    return IndicatorMention(q.end, q.end + len(qualifier), key, name)
        return None

    def _listed(self, text: str, qi: int, q: Quantity, quantities: list[Quantity], mentions: list[IndicatorMention],
                before: list[int], after: list[int], c_start: int,
                assigned: list[tuple[Quantity, IndicatorMention]]) -> dict[int, list[IndicatorMention]]:
        """Figures shared by, or paired with, a list of names (均达100%, 分别达到X、Y, 分别增长X和Y)."""
        clause = text[c_start:q.start]
        following = [j for j in range(qi, len(quantities))
                     if not any(mentions[k].start < quantities[j].start for k in after)
                     and quantities[j].form == q.form]
        respectively = clause.rfind(_RESPECTIVELY)
        if respectively >= 0 and not re.search(r"\d", _YEAR_TEXT.sub("", clause[respectively:])):
            names = self._urban_rural(text, c_start, c_start + respectively)
            if names is None and before:
                names = [mentions[g] for g in self._group(text, mentions, before)]
            if names is None or len(names) < 2:
                # 分别是2015年的1.71倍、1.42倍: the names of the figures given just before.
                earlier = []
                for _, m in assigned:
                    if m.key not in [e.key for e in earlier]:
                        earlier.append(m)
                names = earlier[-len(following):] if 2 <= len(following) <= len(earlier) else None
            if not names or len(following) < len(names):
                return {}
            return {j: [m] for j, m in zip(following, names, strict=False)}
        if not before:
            return {}
        group = self._group(text, mentions, before)
        between = text[mentions[before[-1]].end:q.start]
        if len(group) > 1 and (_ALL.search(between) or len(following) == 1):
            return {qi: [mentions[g] for g in group]}
        return {}

    @staticmethod
    def _group(text: str, mentions: list[IndicatorMention], before: list[int]) -> list[int]:
        """The mentions listed together (A、B和C) that end with the last mention of ``before``."""
        group = [before[-1]]
        for i in reversed(before[:-1]):
            if _LIST_JOIN.match(text[mentions[i].end:mentions[group[0]].start]):
                group.insert(0, i)
            else:
                break
        return group

    def _urban_rural(self, text: str, start: int, end: int) -> list[IndicatorMention] | None:
        """城乡居民人均可支配收入分别达X、Y: the urban and the rural indicator, in that order."""
        where = text.rfind("城乡", start, end)
        if where < 0:
            return None
        for first in range(max(start, where - 6), where + 1):
            phrase = IndicatorMatcher.clean_cell(text[first:end])
            for urban in ("城镇", "城市"):
                urban_name, rural_name = phrase.replace("城乡", urban, 1), phrase.replace("城乡", "农村", 1)
                urban_key, rural_key = self.matcher.key_of(urban_name), self.matcher.key_of(rural_name)
                if urban_key and rural_key:
                    return [IndicatorMention(first, end, urban_key, urban_name),
                            IndicatorMention(first, end, rural_key, rural_name)]
        return None

    # --- one figure -------------------------------------------------------------------------------

    def _figure(self, text: str, origin: list[int], line: str, number: int, section: Section, q: Quantity,
                mention: IndicatorMention, years: list[YearWord], clauses: list[tuple[int, int]], s_start: int,
                previous: Figure | None) -> Figure | None:
        ctx = self.ctx
        key = mention.key
        c_start = _span_of(clauses, q.start)[0]
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
        change = _CHANGE.search(_verb_zone(before)[-8:]) if before else None
        if q.form == "structure":
            value_type = "structure"
        elif q.form == "ratio" or not unit:
            value_type = "ratio"
        elif unit == "倍":
            value_type = "ratio_multiple"
        elif unit in ("个百分点", "百分点"):
            value_type = "change_pp"
        elif names_change and unit == "%":
            value_type = "change_pct"
        elif change and unit == "%" and not _TO_LEVEL.search(_verb_zone(before)[-8:]):
            word = change.group("w")
            if word in ("提高", "提升", "上升", "下降", "降低") and catalog_unit == "%":
                value_type = "change_pp"  # 提高3% of a rate: 3 percentage points
            else:
                value_type = "change_pct"
            if word in _AVERAGE_GROWTH and not key.endswith("_growth") and f"{key}_growth" in self.catalog_unit:
                key = f"{key}_growth"
        if value_type in ("change_pct", "change_pp") and change and change.group("w") in _DECLINE \
                and not any(w in mention.name for w in _DECLINE):
            value = -value

        kind, year = self._kind_year(text, q, section, years, c_start, s_start, before, value_type)
        prefix = text[s_start:q.start]
        if value_type == "level" and (_CUMULATIVE.search(prefix) or _PERIOD_TOTAL.search(prefix)) \
                and f"{key}_cumulative" in self.catalog_unit:
            key = f"{key}_cumulative"  # 累计接待游客3600万人次、旅游综合收入约500亿元: period totals
        if value_type == "level" and _INCREASE.search(_verb_zone(before)) and f"{key}_increase" in self.catalog_unit:
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
            words = _verb_zone(before)
            words = _CHANGE.sub("", words) if value_type in ("change_pct", "change_pp") else words
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
        tail = re.match(r"(?:的)?(?:左右|以上|以下|以内)", text[ev_end:])
        if tail:
            ev_end += tail.end()
        return Figure(number, key, mention.name, kind, year, value, value_type,
                      self._unit(unit, catalog_unit, value_type), comp, source, region, attribute,
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

    def _unit(self, unit: str, catalog_unit: str, value_type: str) -> str:
        fixed = {"change_pct": "%", "structure": "%", "change_pp": "个百分点", "ratio_multiple": "倍", "ratio": ""}
        if value_type in fixed:
            return fixed[value_type]
        if unit in ("亿", "万") and catalog_unit:
            return unit + catalog_unit.lstrip("万亿千百")
        # The same counted thing takes the catalog's counting word (托位 张 -> 个, firms 户 -> 家).
        magnitude = unit[0] if len(unit) > 1 and unit[0] in "万亿" else ""
        base = unit[len(magnitude):]
        cat_base = catalog_unit.lstrip("万亿")
        if base in _COUNT_WORDS and cat_base in _COUNT_WORDS and base != cat_base and "人" not in (base, cat_base):
            return magnitude + cat_base
        return unit


def _in_brackets(after_name: str) -> bool:
    """Whether a name is inside brackets closed in ``after_name`` (the text from the name to a figure)."""
    return after_name.count(")") + after_name.count("）") > after_name.count("(") + after_name.count("（")


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


def figures_frame(figures: list[Figure], ctx: ExtractionContext, schema: dict) -> pl.DataFrame:
    columns = {
        "doc": [ctx.doc] * len(figures),
        "line": [f.line for f in figures],
        "region": [f.region for f in figures],
        "kind": [f.kind for f in figures],
        "indicator_text": [f.indicator_text for f in figures],
        "indicator_key": [f.key for f in figures],
        "value": [f.value for f in figures],
        "value_type": [f.value_type for f in figures],
        "unit": [f.unit for f in figures],
        "comparator": [f.comparator for f in figures],
        "year": [f.year for f in figures],
        "attribute": [f.attribute for f in figures],
        "evidence": [f.evidence for f in figures],
        "char_start": [f.char_start for f in figures],
        "char_end": [f.char_end for f in figures],
    }
    return pl.DataFrame(columns, schema=schema)
