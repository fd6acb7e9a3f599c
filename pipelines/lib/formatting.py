"""How numbers, comparators and times are written for people (emails, the report, reasons), and the
one Jinja environment that renders every template with these words as filters.

Status, severity, category and document-type labels are not here: they live in the ``v_label`` view
(sql/views/00_v_label.sql), which the report, the emails and analysts' SQL all read.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

NO_FIGURE = "—"  # the dash plan tables print for "no figure"
COMPARATOR_ZH = {">=": "不低于", "<=": "不高于", "=": "达到"}  # "~" reads "... 左右", after the number
COMPARATOR_SIGNS = {">=": "≥", "<=": "≤", "~": "≈"}  # the compact form, inside assessment reasons
BEIJING = ZoneInfo("Asia/Shanghai")
TEMPLATES_DIR = Path(__file__).parent / "templates"


def number(value: float | int | None, decimals: int | None = None, *, grouping: bool = True) -> str:
    """3600.0 -> '3,600' ('3600' without grouping); 3.456 -> '3.46'; None -> '—'.

    Two decimals at most, trailing zeros dropped, as plan tables print; ``decimals`` fixes the count."""
    if value is None:
        return NO_FIGURE
    separator = "," if grouping else ""
    if decimals is not None:
        return f"{value:{separator}.{decimals}f}"
    return f"{value:{separator}.2f}".rstrip("0").rstrip(".")


def amount(value: float | None, unit: str | None) -> str:
    """'3030.21 亿元' (no digit grouping, as the plan's sentence writes it); '—' without a value."""
    return NO_FIGURE if value is None else f"{number(value, grouping=False)} {unit or ''}".strip()


def percent(value: float | None, *, scale: float = 100) -> str:
    """A fraction (0.636) as '63.6%'; scale=1 for numbers already in percent."""
    return NO_FIGURE if value is None else f"{value * scale:.1f}%"


def comparator_zh(comparator: str | None) -> str:
    """'>=' -> '不低于', '<=' -> '不高于', '=' -> '达到'; '' for '~' (written as '左右') and unknown ones."""
    return COMPARATOR_ZH.get(comparator or "", "")


def target_text(target: dict) -> str:
    """A target as one phrase: '2025年不高于 35 微克/立方米', '2025年 6 %左右'."""
    value = amount(target["target_value"], target["unit"])
    if target["comparator"] == "~":
        return f"{target['target_year']}年 {value}左右"
    return f"{target['target_year']}年{comparator_zh(target['comparator'])} {value}"


def beijing_time(moment: datetime) -> str:
    """'2026-03-02 10:00（北京时间）'. A naive time is taken as this host's local time."""
    return f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


@cache
def template_environment() -> jinja2.Environment:
    """The one Jinja environment of every template in templates/ (emails and report): HTML (.html,
    .html.j2) autoescaped, plain text not; a missing variable is an error; the filters above by short names."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(num=number, amount=amount, pct=percent, comparator_zh=comparator_zh,
                               target=target_text, beijing_time=beijing_time)
    return environment
