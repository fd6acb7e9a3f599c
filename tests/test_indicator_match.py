"""Catalog indicators found in sentences and matched from damaged table cells."""

from pathlib import Path

import pytest

from pipelines.lib.indicator_match import cached_matcher
from pipelines.lib.reference import load_catalog

CATALOG = Path(__file__).resolve().parents[1] / "data" / "raw" / "reference" / "indicators.csv"


@pytest.fixture(scope="module")
def matcher():
    return cached_matcher(load_catalog(CATALOG))


def test_find_all_prefers_longest_name_without_overlap(matcher):
    text = "全市实现地区生产总值 900 亿元,人均地区生产总值 12 万元"
    mentions = matcher.find_all(text)
    assert [m.key for m in mentions] == ["gdp", "gdp_per_capita"]
    assert text[mentions[1].start:mentions[1].end] == "人均地区生产总值"


def test_find_all_ignores_quotes_and_bracket_width(matcher):
    assert [m.key for m in matcher.find_all("实施重点两化融合项目8个")] == ["two_integration_key_projects_implemented"]
    assert matcher.find_all("每千人口执业（助理）医师数达到3.2人")[0].key == "doctors_per_1000"


@pytest.mark.parametrize("opening, closing", [("“", "”"), ('"', '"'), ("「", "」"), ("", ""), ("‘", "")])
def test_find_all_takes_any_quote_or_none_where_a_name_has_one(matcher, opening, closing):
    # 省级“两化”融合示范试点企业 is an alias: its quotes may be of any kind, or left out, one by one.
    text = f"全市{opening}两化{closing}融合示范试点企业12家,省级{opening}两化{closing}融合示范试点企业5家"
    mentions = matcher.find_all(text)
    assert [m.key for m in mentions] == ["provincial_two_integration_demo_enterprises_new"]
    assert text[mentions[0].start:mentions[0].end] == f"省级{opening}两化{closing}融合示范试点企业"


def test_match_repairs_lost_characters(matcher):
    assert matcher.match("常住人口城化率(%").key == "urbanization_rate_resident"
    assert matcher.match("居民人均可支配收入比").key == "urban_rural_income_ratio"
    assert matcher.match("地区生产总值(亿元)").key == "gdp"


def test_match_rejects_headers(matcher):
    assert matcher.match("指标") is None
    assert matcher.match("完成情况") is None


def test_matcher_is_cached_per_catalog():
    catalog = load_catalog(CATALOG)
    assert cached_matcher(catalog) is cached_matcher(load_catalog(CATALOG))
