"""The number vocabulary (bound words, change words, the number pattern) that prose and tables share."""

import pytest

from pipelines.lib.numbers import BOUND_AFTER, BOUND_BEFORE, CHANGE, comparator
from pipelines.lib.tables import read_cell


@pytest.mark.parametrize(("before", "after", "expected"), [
    ("达到", "左右", ("~", "after")), ("约", "", ("~", "before")), ("不低于", "", (">=", "before")),
    ("控制在", "以内", ("<=", "after")), ("", "及以下", ("<=", "after")), ("", "余人", (">=", "after")),
    ("降至", "", ("<=", "before")), ("≥", "", (">=", "before")), ("", "", ("=", "")),
])
def test_bound_words_give_the_comparator(before, after, expected):
    assert comparator(before, after, reported=False) == expected


def test_reported_figures_are_equal_unless_stated_as_bounds():
    assert comparator("达到", "", reported=True) == ("=", "")
    assert comparator("超过", "", reported=True) == (">=", "before")


@pytest.mark.parametrize("cell", ["达95%", "力争70", "不低于95%", "约3.5", "400余", "5%及以下", "控制在3.5%以内"])
def test_table_cells_read_the_same_bound_words(cell):
    (reading,) = read_cell(cell, rate=False)
    pre = next((w for w in sorted(BOUND_BEFORE, key=len, reverse=True) if cell.startswith(w)), None)
    post = next((w for w in sorted(BOUND_AFTER, key=len, reverse=True) if cell.endswith(w)), None)
    assert reading.comparator == (BOUND_AFTER[post] if post else BOUND_BEFORE[pre])
    assert reading.indicator_text is None


@pytest.mark.parametrize(("cell", "rate", "expected"), [
    ("提高3%", True, (3.0, "change_pp", "个百分点")), ("增长6.5%", True, (6.5, "change_pct", "%")),
    ("下降2%", False, (-2.0, "change_pct", "%")), ("回落1个百分点", False, (-1.0, "change_pp", "个百分点")),
    ("年均增长6%", False, (6.0, "change_pct", "%")),
])
def test_table_change_cells_use_the_change_words(cell, rate, expected):
    (reading,) = read_cell(cell, rate=rate)
    assert (reading.value, reading.value_type, reading.unit) == expected


def test_change_words_end_the_text_before_a_figure():
    assert CHANGE.search("地区生产总值增加").group("w") == "增加"
    assert CHANGE.search("年均增长率为").group("w") == "年均增长"
    assert CHANGE.search("增长点") is None
