"""When a figure is for, and whether it is a goal or a result: sections, year words and kind cues.

A document is read top-down: headings open review sections (发展基础, 主要工作, 取得成效 …) or
forward-looking ones (目标, 工作安排, 主要任务 …). Inside a line, year words (到2025年, 2020年末,
“十三五”末, 年内) and cue words (预计, 累计) refine the section's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.lib.extract_context import ExtractionContext
from pipelines.lib.numbers import starting_with
from pipelines.lib.reading import normalize_line
from pipelines.lib.reference import PERIODS

_CN_NUM = "一二三四五六七八九十"
# Top-level headings (第一章, 一、, 第一部分) open a section; sub-headings (第一节, (一), 1.) refine it
# only when their own words are clear.
_TOP_HEADING = re.compile(rf"^\s*(?:第[{_CN_NUM}百零〇\d]+[章篇部]|第[{_CN_NUM}]+部分|[{_CN_NUM}]+[、.])")
_SUB_HEADING = re.compile(rf"^\s*(?:第[{_CN_NUM}百零〇\d]+节|[(（][{_CN_NUM}]+[)）]|\d{{1,2}}[、.](?!\d))")
_MAX_HEADING = 40
_REVIEW_WORDS = re.compile(r"发展基础|现实基础|基础与|回顾|成就|成效|成绩|主要工作|工作总结|发展现状|完成情况|实施情况|执行情况|"
                           r"过去|取得")
_PLAN_WORDS = re.compile(r"目标|任务|安排|形势|趋势|思路|展望|指标|举措|措施|要求|原则")
YEAR_IN_HEADING = re.compile(r"((?:19|20)\d{2})\s*年")  # 2018年主要工作; a table's caption too
# An unnumbered short line that is plainly a heading of either kind (2024年工作安排, 过去一年工作回顾).
_BARE_HEADING = re.compile(r"^[^,。;:,]{0,16}(?:工作回顾|主要工作|工作安排|目标任务|主要目标|发展基础|发展目标|重点任务)$")

# Year words inside a sentence. A year after 较/比/是/与/同 is the base of a comparison.
YEAR_WORD = starting_with(
    "较比是与同相到至截力争于在12“\"十年今当明五过",  # the first characters of the alternatives below
    r"(?P<comp>较|比|是|与|同|相比|比较)?(?P<pre>到|至|截至|截止|力争到|争取到|于|在)?"
    r"(?:(?P<year>(?:19|20)\d{2})年(?P<post>末|底|年底|年末|前|以前|之前|年前|内|初|的|全年)?"
    r"|[“\"]?(?P<period>十[二三四五]五)[”\"]?(?P<ppost>期末|末期|末|时期|期间|以来|规划期|初|前期|中期|后期)?"
    r"|(?P<thisyear>年内|今年|当年|明年)|(?P<fiveyears>五年来|五年间|过去五年))"
)


@dataclass(frozen=True)
class Section:
    mode: str  # review | plan
    year: int | None  # a year the heading names (2018年主要工作)


def sections(lines: list[str], ctx: ExtractionContext) -> list[Section]:
    """The section each line belongs to (headings decide; a document opens as a plan, a report as review)."""
    current = Section("review" if ctx.doc_type == "work_report" else "plan", None)
    out: list[Section] = []
    for line in lines:
        # Width normalization changes no length, whitespace or 。, so only short lines need it.
        text = line.strip()
        if text and len(text) <= _MAX_HEADING and "。" not in text:
            text = normalize_line(line).strip()
            top, sub = _TOP_HEADING.match(text), _SUB_HEADING.match(text)
            year = YEAR_IN_HEADING.search(text)
            heading_year = int(year.group(1)) if year else None
            review, plan = _REVIEW_WORDS.search(text), _PLAN_WORDS.search(text)
            if top or ((sub or _BARE_HEADING.match(text)) and (review or plan)):
                if review and not plan:
                    current = Section("review", heading_year)
                elif top or plan:
                    current = Section("plan", heading_year)
        out.append(current)
    return out


@dataclass(frozen=True)
class YearWord:
    start: int
    end: int
    year: int | None
    comparison: bool  # 较2015年 / 是2015年的: the base of a change, not the figure's year
    directly_before: bool  # '2016年的' right before a figure: that figure's own year
    period_total: bool  # 十三五期间, 五年来: a figure over a period


def year_words(text: str, ctx: ExtractionContext) -> list[YearWord]:
    words = []
    for m in YEAR_WORD.finditer(text):
        comparison = bool(m.group("comp"))
        total = False
        if m.group("year"):
            year = int(m.group("year"))
            direct = m.group("post") == "的"
        elif m.group("period"):
            start, end = PERIODS.get(m.group("period"), (None, None))
            year, direct = end, False
            total = m.group("ppost") in ("期间", "时期", "以来")
        elif m.group("thisyear"):
            year = ctx.year if m.group("thisyear") != "明年" else (ctx.year or 0) + 1 or None
            direct = False
        else:
            year, direct, total = None, False, True  # 五年来: the section's own period decides
        words.append(YearWord(m.start(), m.end(), year, comparison, direct, total))
    return words


def default_year(kind: str, ctx: ExtractionContext, section: Section) -> int | None:
    """The year a figure refers to when the text names none."""
    if ctx.doc_type == "work_report":
        if kind == "annual_target":
            return section.year or ctx.year
        return section.year or ((ctx.year - 1) if ctx.year else None)
    if kind in ("actual", "estimate", "baseline"):
        if section.year:
            return section.year
        return (ctx.period_start - 1) if ctx.period_start else ctx.year
    return ctx.period_end or ctx.year
