"""The unit module: catalog spelling, base and magnitude, conversion, compatibility and wording."""

import polars as pl
import pytest

from pipelines.lib.units import (
    catalog_wording,
    conversion_factor,
    figure_unit,
    spell,
    spelled,
    units_compatible,
)


@pytest.mark.parametrize(("written", "catalog"), [
    ("名", "人"), ("m2", "平方米"), ("㎡", "平方米"), ("km", "公里"), ("千米", "公里"), ("百分点", "个百分点"),
    ("个百分比", "个百分点"), ("μg/m³", "微克/立方米"), ("10,000 yuan", "万元"), ("％", "%"),
    # a magnitude is kept, and each part of a compound unit is spelled on its own
    ("万m2", "万平方米"), ("万千米", "万公里"), ("万名", "万人"), ("元/㎡", "元/平方米"), ("亿元", "亿元"),
    ("", ""),
])
def test_spelling(written, catalog):
    assert spell(written) == catalog


def test_spelling_of_a_column_keeps_nulls_and_blanks_nothing():
    column = pl.Series(["万m2", None, " ", "KM"], dtype=pl.String)
    assert pl.select(spelled(pl.lit(column))).to_series().to_list() == ["万平方米", None, None, "公里"]


@pytest.mark.parametrize(("unit", "canonical", "factor"), [
    ("亿元", "万元", 1e4), ("公顷", "亩", 15.0), ("‰", "%", 0.1),
    # an irregular unit under a magnitude, stacked magnitudes, a unit spelled under a magnitude
    ("万平方公里", "平方公里", 1e4), ("万公里", "公里", 1e4), ("亿千瓦", "万千瓦", 1e4), ("万m2", "平方米", 1e4),
    ("万亩", "%", None), ("元", "美元", None),
])
def test_conversion_factor(unit, canonical, factor):
    assert conversion_factor(unit, canonical) == factor


def test_compatible_units_measure_the_same_kind_of_thing():
    assert units_compatible("万人", "人") and units_compatible("亿元", "万元") and units_compatible("户", "家")
    assert units_compatible("万公里", "公里") and units_compatible("美元", "元") and units_compatible("公顷", "平方米")
    assert units_compatible("元/人", "万元") and units_compatible("万元/人", "元") and units_compatible("亿", "%")
    assert not units_compatible("万亩", "%") and not units_compatible("分钟", "个")
    assert not units_compatible("人", "个") and not units_compatible("元/人", "元/平方米")


def test_catalog_wording_keeps_the_magnitude_and_takes_the_catalogs_counting_word():
    assert catalog_wording("户", "家") == "家" and catalog_wording("万张", "个") == "万个"
    assert catalog_wording("亿", "万元") == "亿元" and catalog_wording("万人", "人") == "万人"
    assert catalog_wording("人", "位") == "人" and catalog_wording("", "%") == "%" and catalog_wording("名", "人") == "人"
    assert figure_unit("change_pp", "%", "%") == "个百分点" and figure_unit("ratio", "", "") == ""
    assert figure_unit("level", "m2", "平方米") == "平方米"
