"""Which catalog indicator each figure of a sentence belongs to.

A figure takes the name of its item (the text between 、 or , around it), a name right after it, a
name written around it (培养 50 名企业经营管理人才), or a name completed from its neighbours (人均达,
总投资, 占全市的, 4星级机构 after 5星级养老机构, 建成2个国家级、4个省级重点专科), else the last name of
its clause or sentence. A candidate is taken only when the figure's unit fits the indicator's unit.
Lists (A、B均达100%, A和B分别达到X、Y, 城乡居民收入分别达X、Y) give one figure per indicator.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.lib.indicator_match import IndicatorMatcher, IndicatorMention
from pipelines.lib.numbers import CHANGE, Quantity, starting_with
from pipelines.lib.units import units_compatible

# A comma between digits that reads as a thousands separator (12,673.8) cuts nothing.
_CLAUSE_END = starting_with(",:", r"(?<!\d),|,(?!\d{3}(?!\d))|(?<!\d):|:(?!\d)")
_ITEM_END = starting_with(",:、和及与", r"(?<!\d),|,(?!\d{3}(?!\d))|、|[和及与](?=\d)|(?<!\d):|:(?!\d)")
_LIST_JOIN = re.compile(r"^(?:、|和|及|与|以及|,|或|、以及)$")
_ALL = re.compile(r"均|都|全部|皆")
_RESPECTIVELY = "分别"
_YEAR_TEXT = re.compile(r"(?:19|20)\d{2}年")
_ADJACENT_GAP = re.compile(r"^(?:的|以上的?|左右的?|以内的?|多|余)?$")
_QUALIFIER = re.compile(r"^[\u4e00-\u9fff]{1,6}级$|^[\u4e00-\u9fff]{1,4}[省市区县]$")
# 占全市的13.15%, 达到建成区面积的55%: a share of some base.
_SHARE_OF = re.compile(r"(?:占|达到)(?P<base>[^,、的\d]{2,12})的?(?:比重|比例)?(?:为|达到?)?$")
# The word an item opens with before its verb: 人均达, 总投资, 产值突破.
_LEADING_NOUN = re.compile(r"^(?P<noun>[\u4e00-\u9fff]{2,12}?)(?:突破|达到|超过|达|超|为|约|实现|增至|提高到|保持|稳定在)?$")
_BOUND_WORDS = re.compile(r"(?:达到|达|超过|突破|为|约|增至|提高到|保持在|稳定在|控制在|不低于|不少于|不超过)$")
_CLAUSE_VERB = re.compile(r"新建|建成|创建|培育|培养|引进|新增|实施|打造|提档升级|招引|改造|建设")
_BOUND_TAIL = re.compile(r"^(?:的)?(?:左右|以上|以下|以内|之内|多|余)?(?:相比较?|比较)?[,、;。:]*")
_NOUN = re.compile(r"[\u4e00-\u9fff]{2}")
_NEXT_ITEM = re.compile(r"[、,和及与]")
_STRUCTURE_PARTS = ("(第一产业)", "(第二产业)", "(第三产业)")


@dataclass(frozen=True)
class Segments:
    """A sentence cut into clauses (at , and :) and items (also at 、 and at 和 before a figure)."""

    clauses: list[tuple[int, int]]
    items: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Segments:
        return cls(spans(_CLAUSE_END, text, start, end), spans(_ITEM_END, text, start, end))


def spans(pattern: re.Pattern, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of text[start:end] cut after each delimiter matched by ``pattern``."""
    pieces, pos = [], start
    for m in pattern.finditer(text, start, end):
        pieces.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces


def span_of(pieces: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    """The piece holding ``pos`` (pieces in order, not overlapping, as ``spans`` cuts them), else pos alone."""
    at = bisect_right(pieces, (pos, sys.maxsize)) - 1  # the last piece that starts at or before pos
    if at >= 0 and pos < pieces[at][1]:
        return pieces[at]
    return pos, pos + 1


class Attributor:
    """Ties figures to indicators, using the catalog's names (matcher) and units."""

    def __init__(self, matcher: IndicatorMatcher, catalog_unit: dict[str, str]) -> None:
        self.matcher = matcher
        self.catalog_unit = catalog_unit
        self.structure_keys = [matcher.key_of(f"三次产业比重{part}") for part in _STRUCTURE_PARTS]

    def unit_fits(self, q: Quantity, key: str | None, text: str) -> bool:
        if key is None:
            return False
        if q.form in ("structure", "ratio") or q.unit in ("倍", "个百分点"):
            return True
        if q.unit == "%" and CHANGE.search(text[max(0, q.start - 8):q.start]):
            return True  # a change in % fits any indicator
        if not q.unit:
            return not self.catalog_unit.get(key)  # a bare number belongs to a unitless indicator (a ratio)
        return units_compatible(q.unit, self.catalog_unit.get(key, ""))

    def attribute(self, text: str, quantities: list[Quantity], mentions: list[IndicatorMention],
                  segments: Segments) -> list[tuple[Quantity, IndicatorMention]]:
        """Each figure of a sentence with its indicator(s); figures with none are left out."""
        clauses, items = segments.clauses, segments.items
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
            c_start, c_end = span_of(clauses, q.start)
            i_start, i_end = span_of(items, q.start)
            before = [i for i, m in enumerate(mentions) if c_start <= m.start and m.end <= q.start]
            if q.form == "number" and q.part and before:
                # 医疗床位(其中护理床位)达到10560(2640)张: the bracketed figure to the bracketed name.
                bracketed = [i for i in before if _in_brackets(text[mentions[i].end:q.start])]
                plain = [i for i in before if i not in bracketed]
                chosen = bracketed if q.part == 2 else plain
                if chosen and self.unit_fits(q, mentions[chosen[-1]].key, text):
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
        # A longer name written whole around the figure (每个周期选评5名省特级教师) beats a shorter one inside it
        # (with no candidate yet, nothing is inside it: no search). Only the longest whole name counts, and
        # only if it is longer than a candidate: names no longer than the shortest candidate are not sought.
        shortest = min((len(m.name) for _, m in candidates if m is not None), default=0)
        for whole in (self.matcher.find_scattered(item_text, min_cover=1.0, longer_than=shortest)[:1]
                      if candidates else ()):
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
        trailing = _without_bound_tail(text[q.end:i_end])
        if not _NOUN.search(trailing) and q.unit:
            if before:
                candidates.append((before[-1], mentions[before[-1]]))
            if earlier and not before:
                candidates.append((earlier[-1], mentions[earlier[-1]]))
        if after and (mentions[after[0]].start < i_end or text[mentions[after[0]].start - 1] == "的"):
            # 培育10个镇区人口过10万、…的新生小城市: a count described before its noun.
            candidates.append((after[0], mentions[after[0]]))
        for idx, mention in candidates:
            if mention is not None and self.unit_fits(q, mention.key, text):
                if idx is not None:
                    used[idx] = used.get(idx, 0) + 1
                return mention
        return None

    def _composed(self, text: str, q: Quantity, named: IndicatorMention, i_start: int) -> IndicatorMention | None:
        """An item that names its figure with a word relative to the last name (人均达21.6万元,
        总投资4.75亿美元, 产值突破50亿元): that word joined to the name or its stem."""
        head = _LEADING_NOUN.match(text[i_start:q.start])
        if not head or CHANGE.search(head.group("noun")) or _SHARE_OF.search(text[i_start:q.start]):
            return None
        word = head.group("noun")
        names = [word + named.name] if word == "人均" else [
            named.name[:cut] + word for cut in range(len(named.name), 1, -1)]
        return self._known(names, i_start, q.start)

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
        names = (f"{subject}占{base}{tail}" for subject in subjects for tail in ("比重", "比例"))
        return self._known(names, i_start, q.start)

    def _parallel(self, text: str, q: Quantity, named: IndicatorMention, i_start: int) -> IndicatorMention | None:
        """5星级养老机构达到2家, 4星级机构12家: the item's own words over the last name's pattern."""
        own = _BOUND_WORDS.sub("", text[i_start:q.start])
        if len(own) < 2 or own == named.name:
            return None
        names = (own[:keep] + named.name[cut:] for keep in range(len(own), 0, -1)
                 for cut in range(keep, len(named.name)) if (own[:keep] + named.name[cut:]).endswith(own[keep:]))
        return self._known(names, i_start, q.start, other_than=named.key)

    def _noun_after(self, text: str, q: Quantity, c_start: int, c_end: int, i_end: int) -> IndicatorMention | None:
        """新建…等13所中小学校, 培养10名医学领军人才、30名医学创新人才: the clause's verb and the noun
        after the figure."""
        verb = _CLAUSE_VERB.search(text, c_start, q.start)
        for end in (i_end, c_end):
            phrase = _without_bound_tail(text[q.end:end]).rstrip(",、;。")
            names = ((verb.group() + phrase) if verb else None, phrase)
            found = self._known((name for name in names if name and len(name) >= 3), q.end, end)
            if found is not None:
                return found
        return None

    def _elided(self, text: str, q: Quantity, mentions: list[IndicatorMention], after: list[int], c_start: int,
                i_start: int) -> IndicatorMention | None:
        """建成2个国家级、4个省级医学重点专科: the qualifier after the figure plus the head of the next name."""
        item_end = _NEXT_ITEM.search(text, q.end)
        qualifier = text[q.end:item_end.start()] if item_end else ""
        qualifier = re.sub(r"^(?:以上|左右|个|家|所|项)", "", qualifier)
        if not qualifier or not _QUALIFIER.match(qualifier) or not after:
            return None
        head_name = mentions[after[0]].name
        verb = re.sub(r"^.*?(新增|新建|建成|创建|培育|引进)$", r"\1", text[c_start:q.start]) \
            if re.search(r"(新增|新建|建成|创建|培育|引进)$", text[c_start:q.start]) else ""
        names = (name for cut in range(1, len(head_name) - 1)
                 for name in (verb + qualifier + head_name[cut:], qualifier + head_name[cut:]))
        return self._known(names, q.end, q.end + len(qualifier))

    def _known(self, names: Iterable[str], start: int, end: int, *,
               other_than: str | None = None) -> IndicatorMention | None:
        """The first of ``names`` the catalog knows (as another key than ``other_than``), as a mention
        of text[start:end]."""
        for name in names:
            key = self.matcher.key_of(name)
            if key and key != other_than:
                return IndicatorMention(start, end, key, name)
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


def _without_bound_tail(after_figure: str) -> str:
    """The text after a figure without its bound words (左右, 以上 …): _BOUND_TAIL matches at the start
    only, so cutting its match is its substitution, without a scan of the rest."""
    return after_figure[_BOUND_TAIL.match(after_figure).end():]


def _in_brackets(after_name: str) -> bool:
    """Whether a name is inside brackets closed in ``after_name`` (the text from the name to a figure)."""
    return after_name.count(")") + after_name.count("）") > after_name.count("(") + after_name.count("（")
