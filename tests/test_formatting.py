"""The words and numbers people read, written one way for the emails, the report and the reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.lib import alerting, assessment, formatting
from pipelines.lib.formatting import amount, beijing_time, comparator_zh, number, percent, target_text


@pytest.mark.parametrize(("value", "kwargs", "shown"), [
    (3600.0, {}, "3,600"), (3600.0, {"grouping": False}, "3600"), (3.456, {}, "3.46"), (3.0, {}, "3"),
    (-0.5, {}, "-0.5"), (1234.5, {"decimals": 0}, "1,234"), (2.5, {"decimals": 2}, "2.50"), (None, {}, "—"),
])
def test_number(value, kwargs, shown):
    assert number(value, **kwargs) == shown


def test_amount_percent_comparator_and_target():
    assert amount(3030.21, "亿元") == "3030.21 亿元" and amount(12000.0, None) == "12000" and amount(None, "%") == "—"
    assert percent(0.636) == "63.6%" and percent(63.6, scale=1) == "63.6%" and percent(None) == "—"
    assert [comparator_zh(c) for c in (">=", "<=", "=", "~", None)] == ["不低于", "不高于", "达到", "", ""]
    pm25 = {"target_year": 2025, "target_value": 35.0, "unit": "微克/立方米", "comparator": "<="}
    assert target_text(pm25) == "2025年不高于 35 微克/立方米"
    assert target_text({**pm25, "comparator": "~", "target_value": 6.0, "unit": "%"}) == "2025年 6 %左右"


def test_beijing_time():
    assert beijing_time(datetime(2026, 3, 1, 18, 30, tzinfo=UTC)) == "2026-03-02 02:30（北京时间）"


def test_emails_and_report_share_one_environment_and_its_filters():
    environment = formatting.template_environment()
    assert alerting.TEMPLATES is environment
    assert assessment.COMPARATOR_SIGNS is formatting.COMPARATOR_SIGNS
    shown = environment.from_string("{{ 3600 | num }}|{{ 0.5 | pct }}|{{ '<=' | comparator_zh }}|{{ '<b>' }}")
    assert shown.render() == "3,600|50.0%|不高于|&lt;b&gt;"
    # HTML templates are escaped, plain-text ones are not.
    assert environment.autoescape("report.html.j2")
    assert environment.autoescape("alert_email.html") and not environment.autoescape("alert_email.txt")
