"""Numbers as plan texts write them: value, unit, range, ratio, structure, multiple and bound words.

Works on a *compact* line (whitespace removed except between two digits), so that '2. 5万家'
reads 2.5 and '达 到50%' reads 达到50%. Positions are positions in the compact line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.lib.units import spell


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of literal words, longest first (the regex tries them in order)."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


def starting_with(first_chars: str, pattern: str) -> re.Pattern:
    """``pattern`` compiled behind a lookahead on the characters its matches can start with.

    Python's regex engine skips ahead by first character only when it can tell them from the pattern,
    which it cannot for a pattern that opens with an optional group or an assertion: it then tries the
    whole pattern at every position. The lookahead changes no match; scans run several times faster."""
    return re.compile(f"(?=[{re.escape(first_chars)}])(?:{pattern})")


# Base units, longest first inside the alternation (the regex tries them in order).
_BASE_UNITS = sorted(
    [
        "个百分点", "百分点", "个百分比", "%", "‰", "倍",
        "元", "美元", "人次", "人", "户", "家", "个", "亩", "吨", "千瓦时", "千瓦", "头", "羽", "只",
        "平方公里", "平方米", "立方米", "重量箱", "m2", "m²", "㎡", "km2", "km", "件", "处", "辆", "套", "张", "床", "所", "名", "条",
        "项", "场次", "场", "次", "幢", "栋", "座", "路", "位", "岁", "年", "天", "小时", "分钟", "公里",
        "千米", "米", "公顷", "台(?!阶)", "艘", "标箱", "册", "部", "篇", "起", "例", "株", "棵", "门", "间",
        "家次", "批", "宗", "标准箱", "公斤", "千克", "度", "微克", "毫克",
    ],
    key=len,
    reverse=True,
)
_MAGNITUDE = "(?:万亿|亿|万|千|百)"
_BASE = "(?:" + "|".join(u if "(?" in u else re.escape(u) for u in _BASE_UNITS) + ")"
# 元/平方米, 万元/人, 公里/百平方公里, 吨/万平方米, 人/亿元 …
UNIT_PATTERN = f"(?:{_MAGNITUDE}?{_BASE}(?:/{_MAGNITUDE}?{_BASE})?|亿|万)"
# A number as plans write it: 12,673.8 (thousands separators) or 2.5.
NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"

# Chinese numerals are read only after a bound word (超百亿元, 至少一人): elsewhere they are names.
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

_BOUND_CHARS = "[超逾至少达]"  # a Chinese numeral after one of these is a figure (超百亿元, 至少一人)
_CN_NUMERALS = "一二两三四五六七八九十百千"
FIGURE = re.compile(
    # Every figure starts with a digit or a numeral: checking that first spares the branches at most positions.
    rf"(?=[\d{_CN_NUMERALS}])(?:"
    rf"(?P<struct>{NUMBER}(?::{NUMBER}){{2,}})"  # a:b:c structure
    rf"|(?P<ratio>{NUMBER}):1(?![\d.])"  # x:1 ratio
    rf"|(?P<outer>{NUMBER})\((?P<inner>{NUMBER})\)(?P<pair_unit>{UNIT_PATTERN})"  # 10560(2640)张: two figures
    rf"|(?P<num>{NUMBER})"
    rf"(?:(?P<unit_lo>{UNIT_PATTERN})?(?P<range>[~～\-—至]|到(?={NUMBER}{UNIT_PATTERN}?(?:左右|之间)))(?P<num_hi>{NUMBER}))?"
    rf"(?P<unit>{UNIT_PATTERN})?"
    rf"|(?<={_BOUND_CHARS})(?P<cn>[{_CN_NUMERALS}]{{1,3}})(?P<cn_unit>{UNIT_PATTERN})"
    rf")"
)

# Every FIGURE match starts with a digit or is a Chinese numeral right after a bound word (its lookbehind).
_DIGIT = re.compile(r"\d")
_BOUND_NUMERAL = re.compile(rf"{_BOUND_CHARS}\s*[{_CN_NUMERALS}]")


def may_hold_figures(line: str) -> bool:
    """False when ``find_quantities`` finds nothing in the line, however it is compacted or
    width-normalized: with no digit and no numeral after a bound word (compact only drops whitespace,
    and width normalization keeps digits digits and whitespace whitespace), no figure can start."""
    return _DIGIT.search(line) is not None or _BOUND_NUMERAL.search(line) is not None


@dataclass(frozen=True)
class Quantity:
    start: int  # span of the figure in the compact line
    end: int
    value: float
    unit: str  # as written (magnitude kept), '' when none
    form: str  # number | range | ratio | structure
    part: int = 0  # index of the part of a structure; 10560(2640)张: 1 for the outer, 2 for the inner figure
    value_end: int = -1  # end of the digits of the value (the span start:value_end is the value itself)


_WHITESPACE = re.compile(r"\s+")


def compact(line: str) -> tuple[str, list[int]]:
    """The line without whitespace (kept as one space between two digits) and each character's origin."""
    out: list[str] = []
    origin: list[int] = []
    kept_from = 0  # the text between whitespace runs is kept whole
    for m in _WHITESPACE.finditer(line):
        start, end = m.span()
        out.append(line[kept_from:start])
        origin.extend(range(kept_from, start))
        if line[start - 1:start].isdigit() and line[end:end + 1].isdigit():
            out.append(" ")
            origin.append(start)
        kept_from = end
    out.append(line[kept_from:])
    origin.extend(range(kept_from, len(line)))
    return "".join(out), origin


def chinese_number(text: str) -> float | None:
    """一 -> 1, 十五 -> 15, 百 -> 100, 三千 -> 3000 (small numbers as plans write them)."""
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            return None
    return float(total + current)


def is_year(digits: str) -> bool:
    """19xx/20xx written as four digits: with 年 or no unit it is a date, not a figure."""
    return len(digits) == 4 and digits.isdigit() and 1900 <= int(digits) <= 2100


def find_quantities(text: str) -> list[Quantity]:
    """Every figure in a compact line, with years and dates left out."""
    found: list[Quantity] = []
    for m in FIGURE.finditer(text):
        # The branches exclude each other: the common one (a number) is asked first.
        num = m.group("num")
        if num is not None:
            if is_year(num) and (m.group("unit") or m.group("unit_lo") or "年") == "年":
                continue
            if text[m.end("num"):m.end("num") + 1] in ("月", "日", "号"):
                continue
            unit = spell(m.group("unit") or m.group("unit_lo") or "")
            form = "range" if m.group("num_hi") else "number"
            found.append(Quantity(m.start(), m.end(), float(num.replace(",", "")), unit, form, 0, m.end("num")))
        elif m.group("struct"):
            pos = m.start()
            for i, part in enumerate(m.group("struct").split(":")):
                found.append(Quantity(pos, pos + len(part), float(part), "%", "structure", i, pos + len(part)))
                pos += len(part) + 1
        elif m.group("ratio"):
            found.append(Quantity(m.start("ratio"), m.end(), float(m.group("ratio")), "", "ratio", 0, m.end("ratio")))
        elif m.group("outer"):
            unit = spell(m.group("pair_unit"))
            found.append(Quantity(m.start("outer"), m.end("outer"), float(m.group("outer")), unit, "number", 1,
                                  m.end("outer")))
            found.append(Quantity(m.start("inner"), m.end("inner"), float(m.group("inner")), unit, "number", 2,
                                  m.end("inner")))
        elif m.group("cn"):
            value = chinese_number(m.group("cn"))
            if value is not None:
                found.append(Quantity(m.start("cn"), m.end(), value, spell(m.group("cn_unit")), "number", 0,
                                      m.end("cn")))
    return found


# Change words right before a figure (增长6.8%, 下降10.2%, 提高9.3个百分点); a decline is negative.
AVERAGE_GROWTH_WORDS = ("年均增长", "年均增速", "年平均增长")  # growth per year over a period
RISE_WORDS = AVERAGE_GROWTH_WORDS + ("增长", "增速", "增幅", "增加", "提高", "提升", "上升", "扩大")
DECLINE_WORDS = ("下降", "降低", "减少", "降幅", "回落", "缩小")
CHANGE_WORDS = RISE_WORDS + DECLINE_WORDS
# A rate that changes in these words changes in percentage points (提高3% of a rate: 3 个百分点).
POINT_WORDS = ("提高", "提升", "上升", "下降", "降低", "减少")
CHANGE = re.compile(rf"(?P<w>{alternation(CHANGE_WORDS)})(?:了|率)?(?:为|达到|达|约)?$")


# --- bound words -------------------------------------------------------------------------------

_AT_LEAST = ("不少于", "不低于", "不小于", "至少", "突破", "超过", "高于", "多于", "大于", "力争", "争取", "争创",
             "增至", "增加到", "增加至", "提高到", "提高至", "提升到", "提升至", "上升到", "上升至", "扩大到",
             "扩大至", "达到", "迈上", "稳定在", "保持在", "巩固在", "≥", ">=", "超", "达", "逾", ">")
_AT_MOST = ("不超过", "不高于", "不大于", "低于", "少于", "小于", "控制在", "缩小到", "缩小至", "下降到",
            "下降至", "降低到", "降低至", "降至", "减少到", "减少至", "压减到", "压减至", "≤", "<=", "<")
# Bound words right before a figure (不低于80%, 约500亿元) and right after it (3.5%以内, 800亿元左右),
# with the comparator each gives it.
BOUND_BEFORE: dict[str, str] = {**dict.fromkeys(_AT_LEAST, ">="), **dict.fromkeys(_AT_MOST, "<="),
                                "约": "~", "大约": "~"}
BOUND_AFTER: dict[str, str] = {
    "左右": "~", "以上": ">=", "及以上": ">=", "多": ">=", "余": ">=", "以下": "<=", "及以下": "<=", "以内": "<=",
    "之内": "<=", "通达": "<=", "到达": "<=", "可达": "<=", "内通达": "<=", "内到达": "<=",  # 30分钟内通达
}
_AFTER_BOUND = re.compile(rf"^(?:的)?(?P<w>{alternation(BOUND_AFTER)})")
_BEFORE_WORDS = sorted((w for w, c in BOUND_BEFORE.items() if c != "~"), key=len, reverse=True)
_BEFORE_ABOUT = tuple(w for w, c in BOUND_BEFORE.items() if c == "~")
_ACTUAL_GE = ("超过", "突破", "超", "逾", "多于", "高于")
_AIMING = ("力争", "争取", "争创")


def comparator(before: str, after: str, *, reported: bool, clause: str = "") -> tuple[str, str]:
    """The comparator that bound words around a figure give it, and where it came from.

    ``before`` is the text between the indicator (or clause start) and the figure, ``after`` the text
    right after the figure, ``clause`` the clause up to the figure (力争/争取 anywhere in it count).
    Reported results (actuals) are '=' unless stated as bounds. The source is 'after', 'before' or ''.
    """
    tail = _AFTER_BOUND.match(after)
    bound_after = BOUND_AFTER[tail.group("w")] if tail else ""
    if bound_after == "~":
        return "~", "after"
    near = before[-6:]
    if near.endswith(_BEFORE_ABOUT):
        return "~", "before"
    if bound_after:
        return bound_after, "after"
    if reported:
        return (">=", "before") if near.endswith(_ACTUAL_GE) else ("=", "")
    for w in _BEFORE_WORDS:
        if w in near:
            return BOUND_BEFORE[w], "before"
    if any(w in clause for w in _AIMING):
        return ">=", "before"
    return "=", ""
