"""Find catalog indicators in text: every mention in a sentence, or the best one for a table cell.

Names come from the catalog's ``name_zh`` and ``aliases`` (pipelines.lib.reference.indicator_names).
Sentences are scanned with one trie-shaped regex (fast on long documents); table cells that text
extraction damaged (城化率 for 城镇化率, 期性 for 预期性) are matched by how much of a name survives.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, product, repeat

import ahocorasick
import polars as pl
from rapidfuzz.distance import LCSseq

from pipelines.lib.extract_context import built_once
from pipelines.lib.reference import indicator_names

# Characters that vary between sources of the same name: quotes and bracket widths.
_QUOTES = "\"“”'‘’「」『』"
_OPEN, _CLOSE = "(（[【", ")）]】"
_SPACE = re.compile(r"\s+")
_BRACKETED = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]")
# A trailing unit note of a table cell: "(%)", "(万人", "(平方米/人)", "(%"
_UNIT_NOTE = re.compile(r"[(（][^()（）]{0,8}[)）]?$|[(（]$")
# Numbering and scope words in front of a name: "1.", "(3)", "①", "*", 全区, 全市, 城区 …
_LEADING = re.compile(r"^(?:[0-9]+[.、]|[(（][0-9一二三四五六七八九十]+[)）]|[①-⑳*※★]|"
                      r"全区|全市|全县|全省|全镇|全国|全港|城区|市区|本区|本市)+")
_FUZZY_MIN_NAME = 4  # shorter names are too easy to hit by chance
_MIN_COVER = 0.75  # share of a name's characters a scattered wording must contain
# Head words that a figure's unit expresses, so a wording may leave them out (1小时通达 = 通达时间).
_HEAD_SAID_BY_UNIT = {"时间", "数量", "个数", "数", "总量", "规模", "面积", "人数", "金额", "总额", "次数", "长度", "里程"}


@dataclass(frozen=True)
class IndicatorMention:
    start: int  # character span in the text searched
    end: int
    key: str  # catalog indicator_key
    name: str  # the text as found (damaged wording kept)


_DROP_QUOTES = str.maketrans({q: None for q in _QUOTES})
_ONE_QUOTE = str.maketrans({q: '"' for q in _QUOTES})
_HALF_BRACKETS = str.maketrans(_OPEN + _CLOSE, "((((" + "))))")


@lru_cache(maxsize=1 << 16)  # the same names and phrases come back on every line that names them
def canonical_name(text: str) -> str:
    """A name as a lookup key: no spaces or quotes, half-width brackets."""
    return _SPACE.sub("", text).translate(_DROP_QUOTES).translate(_HALF_BRACKETS)


def _searchable_form(name: str) -> str:
    """A name as the trie holds it: quotes kept as one marker (optional in the text)."""
    return _SPACE.sub("", name).translate(_ONE_QUOTE).translate(_HALF_BRACKETS)


def _written_as(ch: str) -> tuple[str, ...]:
    """What a text may write for character ``ch`` of a searchable name ("": nothing, a quote is optional)."""
    if ch == '"':
        return ("", *_QUOTES)
    if ch in _OPEN:
        return ("(", "（")
    if ch in _CLOSE:
        return (")", "）")
    return (ch,)


def _spellings(name: str) -> Iterator[str]:
    """Every text the trie regex accepts for a searchable name."""
    return ("".join(chars) for chars in product(*map(_written_as, name)))


def _start_finder(names: Iterable[str]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton over every spelling of ``names``, each spelling's value its length."""
    automaton = ahocorasick.Automaton()
    for name in names:
        for spelling in _spellings(name):
            if spelling:
                automaton.add_word(spelling, len(spelling))
    automaton.make_automaton()
    return automaton


_ROOT_BUCKET = 12  # first-level branches per character class at the root of the trie


def _trie_pattern(names: list[str]) -> str:
    """A regex equivalent to the alternation of ``names`` that branches on characters (longest first).

    Python's regex engine tries a group's branches one by one, and the root of a catalog's trie has
    hundreds: they are cut into runs in their order, each behind the class of the characters its
    branches can start with, so a position tries a dozen classes and one run instead of every branch."""
    trie: dict = {}
    for name in names:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = True

    def char_pattern(ch: str) -> str:
        forms = _written_as(ch)
        if forms == (ch,):
            return re.escape(ch)
        return "[" + "".join(map(re.escape, filter(None, forms))) + "]" + ("?" if "" in forms else "")

    def build(node: dict) -> str:
        branches = [char_pattern(ch) + build(child) for ch, child in node.items() if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy optional group: the longer name wins, the shorter one is the fallback.
        return f"(?:{body})?" if "" in node else body

    def first(ch: str, child: dict) -> set[str] | None:
        """The characters a branch's match can start with; None when it can match nothing at all."""
        forms = set(_written_as(ch))
        if "" not in forms:
            return forms
        found = forms - {""}  # an optional quote: what follows it may start the match too
        if "" in child or not any(child):
            return None
        for next_ch, grandchild in child.items():
            if next_ch:
                starts = first(next_ch, grandchild)
                if starts is None:
                    return None
                found |= starts
        return found

    def char_class(chars: set[str]) -> str:
        return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"

    branches = [(char_pattern(ch) + build(child), first(ch, child)) for ch, child in trie.items() if ch]
    if not branches or "" in trie or any(starts is None for _, starts in branches):
        return build(trie)  # a name that can match nothing: no class can stand for it
    runs = [branches[i:i + _ROOT_BUCKET] for i in range(0, len(branches), _ROOT_BUCKET)]
    every = set().union(*(starts for _, starts in branches))
    return f"(?={char_class(every)})(?:" + "|".join(
        f"(?={char_class(set().union(*(starts for _, starts in run)))})(?:{'|'.join(p for p, _ in run)})"
        for run in runs) + ")"


def _scattered_order(scored: tuple[float, int, int, IndicatorMention]) -> tuple[float, int, int]:
    cover, length, gap, _ = scored
    return -cover, -length, gap


def _lcs_positions(text: str, name: str) -> list[int]:
    """Positions in ``text`` of one longest common subsequence with ``name``: the walk from the start that
    takes equal characters and otherwise steps where the LCS of the rest stays longest (text first).

    Characters of ``text`` that ``name`` lacks are dropped first: their table row equals the next one,
    so the walk steps over them and picks the same positions as on the whole text. The table of LCS
    lengths of suffixes is kept one bit vector per row (bit-parallel LCS, Allison-Dix / Hyyrö: a row is
    a few integer operations instead of a Python loop over ``name``)."""
    wanted = set(name)
    kept = [i for i, ch in enumerate(text) if ch in wanted]
    n, m = len(kept), len(name)
    full = (1 << m) - 1
    # Bit p stands for name[m - 1 - p]: the rows run over suffixes of the text and of the name.
    where: dict[str, int] = {}
    for p, ch in enumerate(reversed(name)):
        where[ch] = where.get(ch, 0) | 1 << p
    # gains[k] bit p: LCS(text suffix from kept[k], name suffix of p + 1 characters) exceeds that of p
    # characters, so the LCS with the suffix name[j:] is the count of bits below m - j.
    gains = [0] * (n + 1)
    row = full
    for k in range(n - 1, -1, -1):
        matched = row & where[text[kept[k]]]
        row = ((row + matched) | (row - matched)) & full
        gains[k] = ~row & full
    positions, k, j = [], 0, 0
    while k < n and j < m:
        if text[kept[k]] == name[j]:
            positions.append(kept[k])
            k, j = k + 1, j + 1
            continue
        shorter = (1 << (m - j - 1)) - 1  # bits of name[j + 1:]
        if (gains[k + 1] & (shorter << 1 | 1)).bit_count() >= (gains[k] & shorter).bit_count():
            k += 1
        else:
            j += 1
    return positions


def _first_places(text: str, name: str) -> list[int] | None:
    """Where each character of ``name`` first occurs in ``text`` after the previous one; None when
    ``name`` is not a subsequence of ``text``."""
    positions, at = [], 0
    for ch in name:
        at = text.find(ch, at)
        if at < 0:
            return None
        positions.append(at)
        at += 1
    return positions


class IndicatorMatcher:
    """Catalog names -> keys, searchable in sentences and tolerant of damaged table cells."""

    def __init__(self, catalog: pl.DataFrame) -> None:
        names = indicator_names(catalog)
        lookup: dict[str, str] = {}
        searchable: set[str] = set()
        for name, key in zip(names["name"].to_list(), names["indicator_key"].to_list(), strict=True):
            lookup.setdefault(canonical_name(name), key)
            searchable.add(_searchable_form(name))
        # A name without its bracketed note (每千人口执业(助理)医师数 -> 每千人口执业医师数) when unambiguous.
        bare: dict[str, set[str]] = {}
        for name, key in list(lookup.items()):
            stripped = _BRACKETED.sub("", name)
            if stripped != name and len(stripped) >= 3:
                bare.setdefault(stripped, set()).add(key)
        for stripped, keys in bare.items():
            if len(keys) == 1 and stripped not in lookup:
                lookup[stripped] = next(iter(keys))
                searchable.add(stripped)
        self._lookup = lookup
        # Quotes may or may not appear in the text: the pattern makes them optional.
        pattern = _trie_pattern(sorted(searchable))
        self._regex = re.compile(f"(?=({pattern}))")
        # Where a name can start (a superset of where the regex matches), found in one pass in C.
        self._starts = _start_finder(searchable) if searchable else None
        # Character index for fuzzy matching: which names contain each character.
        self._fuzzy_names = [n for n in lookup if len(n) >= _FUZZY_MIN_NAME]
        # Each name's distinct characters as bits (one bit per character of the catalog's names): how many
        # of them a text holds is one AND and a bit count.
        self._char_bit: dict[str, int] = {}
        for name in self._fuzzy_names:
            for ch in name:
                self._char_bit.setdefault(ch, 1 << len(self._char_bit))
        self._fuzzy_masks = [sum(self._char_bit[ch] for ch in set(name)) for name in self._fuzzy_names]
        self._fuzzy_min_shared = [_MIN_COVER * len(set(name)) for name in self._fuzzy_names]
        self._fuzzy_lengths = [len(name) for name in self._fuzzy_names]
        # Names by the character their head noun ends with (the last one, or the one before 时间/数量 …).
        self._by_head: dict[str, list[int]] = {}
        for i, name in enumerate(self._fuzzy_names):
            heads = {name[-1]} | {name[-len(h) - 1] for h in _HEAD_SAID_BY_UNIT
                                  if name.endswith(h) and len(name) > len(h)}
            for ch in heads:
                self._by_head.setdefault(ch, []).append(i)
        self._by_char: dict[str, list[int]] = {}
        for i, name in enumerate(self._fuzzy_names):
            for ch in set(name):
                self._by_char.setdefault(ch, []).append(i)
        # Each name under the character of it that the fewest names share (a whole name needs it in the text),
        # with its character mask and length: the whole-name search filters on them without an index.
        self._by_rarest: dict[str, list[tuple[int, int, int]]] = {}
        for i, name in enumerate(self._fuzzy_names):
            rarest = min(sorted(set(name)), key=lambda ch: len(self._by_char[ch]))
            self._by_rarest.setdefault(rarest, []).append((i, self._fuzzy_masks[i], len(name)))

    def key_of(self, name: str) -> str | None:
        """The key of an exact catalog name or alias (spaces, quotes and bracket widths ignored)."""
        return self._lookup.get(canonical_name(name))

    def find_all(self, text: str) -> list[IndicatorMention]:
        """Every catalog name in ``text``: longest first, non-overlapping, in text order."""
        # The regex tried only where some spelling of a name starts: the same matches as trying it everywhere.
        starts = sorted({end - length + 1 for end, length in self._starts.iter(text)}) if self._starts else ()
        found = [(m.start(1), m.end(1)) for start in starts
                 if (m := self._regex.match(text, start)) is not None and m.end(1) > m.start(1)]
        found.sort(key=lambda span: (span[0] - span[1], span[0]))
        taken: list[tuple[int, int]] = []
        for start, end in found:
            if all(end <= s or start >= e for s, e in taken):
                taken.append((start, end))
        taken.sort()
        mentions = []
        for start, end in taken:
            key = self._lookup.get(canonical_name(text[start:end]))
            if key is not None:
                mentions.append(IndicatorMention(start, end, key, text[start:end]))
        return mentions

    @staticmethod
    def clean_cell(text: str) -> str:
        """A table cell or phrase reduced to the indicator's wording: no numbering, scope word or unit note."""
        name = canonical_name(text)
        for _ in range(2):
            name = _UNIT_NOTE.sub("", name)
            name = _LEADING.sub("", name)
        return name

    def match(self, text: str) -> IndicatorMention | None:
        """The indicator a table cell or short phrase names, tolerating lost characters."""
        raw = text.strip()
        cell = self.clean_cell(raw)
        if not cell:
            return None
        for candidate in (cell, _BRACKETED.sub("", cell)):
            key = self._lookup.get(candidate)
            if key is not None:
                return IndicatorMention(0, len(raw), key, raw)
        # A cell whose every character is in order in one name is that name with characters lost.
        key = self._fuzzy(cell, subsequence_only=True)
        mentions = self.find_all(cell)
        if key is None and mentions:
            best = max(mentions, key=lambda m: m.end - m.start)
            # A name that covers most of the cell is the cell's indicator.
            if (best.end - best.start) / len(cell) >= 0.75:
                key = best.key
        if key is None:
            key = self._fuzzy(cell, subsequence_only=False)
        if key is None and mentions:
            best = max(mentions, key=lambda m: m.end - m.start)
            if (best.end - best.start) / len(cell) >= 0.5:
                key = best.key
        return IndicatorMention(0, len(raw), key, raw) if key else None

    def find_scattered(self, text: str, *, min_cover: float = 0.75, longer_than: int = 0) -> list[IndicatorMention]:
        """Names whose characters appear, in order and close together, in ``text``; best first.

        For wordings that split a name with a figure or a verb (培养 50 名企业经营管理人才,
        2030年实现经济圈内城市之间1小时通达). The name must end where its head noun ends in the text,
        unless the head is a word a unit says (时间, 数量). A mention's ``name`` is the catalog name it matched.
        ``min_cover`` is the share of the name's characters that must be found (at least 0.75);
        ``longer_than`` leaves out names of that many characters or fewer (the rest keep their order).
        """
        # Only whole names reach a cover of 1 (round(found / length, 2) == 1 takes every character of a
        # name under 200 characters), so that search skips every other name.
        return [mention for cover, mention in self._scattered(text, min_cover >= 1.0, longer_than)
                if cover >= min_cover]

    @lru_cache(maxsize=8192)  # noqa: B019 - one matcher per catalog, kept for the process
    def _scattered(self, text: str, whole_only: bool,
                   longer_than: int) -> tuple[tuple[float, IndicatorMention], ...]:
        if len(text) < _FUZZY_MIN_NAME:
            return ()
        chars = set(text)
        in_text = sum(map(self._char_bit.get, chars, repeat(0)))  # one bit per character: the sum is the union
        if whole_only:
            # A whole name has all its characters in the text: the names filed under its rarest character
            # are few (each name under one character), and nearly none has them all. Their order is the
            # search below's unless two tie (then that search decides).
            held = sorted(i for ch in chars for i, mask, length in self._by_rarest.get(ch, ())
                          if mask & in_text == mask and length > longer_than)
            scored = [score for i in held if (score := self._scored(text, i, True)) is not None]
            scored.sort(key=_scattered_order)
            if all(_scattered_order(a) != _scattered_order(b) for a, b in pairwise(scored)):
                return tuple((cover, mention) for cover, _, _, mention in scored)
        # A name can only match if its head character is in the text: a few names per character.
        candidates = sorted({i for ch in chars for i in self._by_head.get(ch, ())})
        masks, min_shared, lengths = self._fuzzy_masks, self._fuzzy_min_shared, self._fuzzy_lengths
        shared = ((i, masks[i] & in_text) for i in candidates if lengths[i] > longer_than)
        scored = [score for i, common in shared
                  if (common == masks[i] if whole_only else common.bit_count() >= min_shared[i])
                  and (score := self._scored(text, i, whole_only)) is not None]
        # Most of the name first, then the longer name, then the tighter fit (ties: in catalog order, so that
        # the result does not depend on the hash seed of the process).
        scored.sort(key=_scattered_order)
        return tuple((cover, mention) for cover, _, _, mention in scored)

    def _scored(self, text: str, idx: int, whole_only: bool) -> tuple[float, int, int, IndicatorMention] | None:
        """Name ``idx`` found scattered in ``text`` (enough of its characters are in it), with its sort key."""
        name = self._fuzzy_names[idx]
        # A whole name: the walk of _lcs_positions takes each character at its first place (it never
        # leaves a path that keeps the whole name), which str.find finds without the table.
        if whole_only:
            positions = _first_places(text, name)
        else:
            # The length first (fast, in C); the positions (Python) only for names that can qualify.
            found = LCSseq.similarity(text, name)
            if found < _MIN_COVER * len(name):
                return None
            positions = _first_places(text, name) if found == len(name) else _lcs_positions(text, name)
        if not positions or len(positions) < _MIN_COVER * len(name):
            return None
        last = name.rfind(text[positions[-1]])
        if text[positions[-1]] != name[-1] and name[last + 1:] not in _HEAD_SAID_BY_UNIT:
            return None
        span = positions[-1] - positions[0] + 1
        if span > 2 * len(name) + 4:
            return None
        cover = round(len(positions) / len(name), 2)
        return cover, len(name), span - len(positions), IndicatorMention(
            positions[0], positions[-1] + 1, self._lookup[name], name)

    def _fuzzy(self, cell: str, *, subsequence_only: bool) -> str | None:
        """The name that ``cell`` is a damaged copy of (characters lost, few or none added)."""
        if len(cell) < (4 if subsequence_only else 3):
            return None
        hits: Counter[int] = Counter()
        for ch in set(cell):
            hits.update(self._by_char.get(ch, ()))
        best: tuple[float, int, str] | None = None
        for idx, shared in sorted(hits.items()):  # catalog order on ties, whatever the hash seed
            name = self._fuzzy_names[idx]
            if shared < 0.6 * len(set(cell)):
                continue
            common = LCSseq.similarity(cell, name)
            lost, added = len(name) - common, len(cell) - common
            if subsequence_only:
                # Flattening loses characters; it does not add them.
                if added or lost > len(name) // 2:
                    continue
            elif added > max(1, len(cell) // 6) or lost > max(1, len(name) // 3):
                continue
            score = common / max(len(name), len(cell))
            if (subsequence_only or score >= 0.7) and (best is None or (score, -len(name)) > best[:2]):
                best = (score, -len(name), self._lookup[name])
        return best[2] if best else None


def cached_matcher(catalog: pl.DataFrame) -> IndicatorMatcher:
    """One matcher per catalog content (building the regex is the costly part)."""
    return built_once(_matcher_of, catalog)


def _matcher_of(catalog: pl.DataFrame) -> IndicatorMatcher:
    return IndicatorMatcher(catalog.select("indicator_key", "name_zh", pl.col("aliases").fill_null("")))
