"""Reference tables read from analysts' files (GB18030 too) with bad rows quarantined, and the one
region resolver every stage uses: normalized names, parent-qualified names, codes, and ambiguous
district names (鼓楼区 in 南京市 and in 福州市) refused where they are used, naming the candidates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

from pipelines.lib import schemas
from pipelines.lib.alerting import load_routing
from pipelines.lib.assessment import ASSESSMENT_SCHEMA
from pipelines.lib.documents import DOCUMENT_SCHEMA
from pipelines.lib.extraction import FACT_SCHEMA
from pipelines.lib.loading import load_run
from pipelines.lib.observations import OBSERVATION_SCHEMA, build_observations
from pipelines.lib.reference import (
    CATALOG_SCHEMA,
    REGION_SCHEMA,
    load_catalog,
    load_regions,
    read_catalog,
    read_regions,
    region_names,
    resolve_region,
)
from pipelines.lib.stage import empty_rejected
from pipelines.lib.statistics import RAW_STAT_SCHEMA
from pipelines.lib.targets import TARGET_SCHEMA, build_targets
from pipelines.lib.warehouse import Warehouse
from tests.conftest import DEFAULT_RAW

REPEATED_NAMES = Path(__file__).parent / "fixtures" / "reference" / "regions_with_repeated_names.csv"
CATALOG = load_catalog(DEFAULT_RAW / "reference" / "indicators.csv")
FACTS = {**FACT_SCHEMA, "doc_id": pl.String}
GULOU = "'鼓楼区' is ambiguous: 320106 (南京市鼓楼区), 350102 (福州市鼓楼区)"


@pytest.fixture(scope="module")
def regions() -> pl.DataFrame:
    return load_regions(REPEATED_NAMES)


def gb18030(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("gb18030"))
    return path


def rejected_by_location(result) -> dict[str, str]:
    return dict(result.rejected.select("location", "reason").iter_rows())


# --- the resolver ---------------------------------------------------------------------------------

def test_names_resolve_after_normalizing_and_ambiguous_ones_only_with_their_parent_or_code(regions):
    texts = ["张家港市 ", "ＺＨＡＮＧＪＩＡＧＡＮＧ", "320582", "苏州张家港", "南京市鼓楼区", "福州鼓楼区", "350102",
             "鼓楼区", " 朝阳区", "北京市朝阳区", "玄武区", None]
    resolved = resolve_region(pl.DataFrame({"text": texts}), "text", regions, otherwise=pl.lit("document"))
    assert resolved["region_code"].to_list() == [
        "320582", "320582", "320582", "320582", "320106", "350102", "350102",
        None, None, "110105", None, "document"]
    ambiguity = resolved["region_ambiguity"].to_list()
    assert ambiguity[7] == GULOU + "; write it with its parent area (e.g. 南京市鼓楼区) or as the region code"
    assert ambiguity[8].startswith("'朝阳区' is ambiguous: 110105 (北京市朝阳区), 220104 (长春市朝阳区)")
    assert [a is None for i, a in enumerate(ambiguity) if i not in (7, 8)] == [True] * 10
    # Plain name lists (used to spot areas in tables) leave ambiguous names out rather than pick one.
    names = set(region_names(regions)["name"].to_list())
    assert {"南京市", "张家港", "福州市"} <= names and not {"鼓楼区", "朝阳区"} & names


# --- reading and quarantine -----------------------------------------------------------------------

def test_bad_region_rows_are_quarantined_with_file_row_and_reason_and_the_rest_load(tmp_path):
    path = gb18030(tmp_path / "regions.csv", REPEATED_NAMES.read_text(encoding="utf-8") + (
        "320106,玄武区,county,320100,\n"            # row 15: another region under 320106's code
        "320582,张家港市,county,320500,张家港|Zhangjiagang\n"  # row 16: row 6 again, copied in Excel
        "320102, ,county,320100,\n"                 # row 17: no name
        "32010,秦淮区,county,320100,\n"             # row 18: a code of five digits
        "320111,浦口区,district,320100,\n"          # row 19: unknown level
        " 320113 ,栖霞区 ,county,320100,栖霞\n"))    # row 20: only stray spaces: fine
    result = read_regions(path)
    reasons = rejected_by_location(result)
    assert set(reasons) == {"row 4", "row 15", "row 16", "row 17", "row 18", "row 19"}
    assert reasons["row 4"] == reasons["row 15"] == "regions.csv: another row has the same key (region_code)"
    assert reasons["row 16"] == "repeats row 6 exactly; the first is used, delete the repeat"
    assert "name_zh" in reasons["row 17"] and "region_code" in reasons["row 18"] and "level" in reasons["row 19"]
    assert set(result.rejected["source_file"]) == {"regions.csv"}
    codes = result.rows["region_code"].to_list()
    assert "320106" not in codes and codes.count("320582") == 1 and "320113" in codes
    assert result.rows.filter(pl.col("region_code") == "320113")["name_zh"].to_list() == ["栖霞区"]
    assert result.rows.schema == pl.Schema(REGION_SCHEMA)

    # The clean table goes into the warehouse's region table (a primary key) without a constraint error.
    wh = Warehouse(tmp_path / "warehouse")
    wh.begin("test")
    with wh.connect() as con:
        assert wh.replace_rows(con, "region", load_regions(path)) == result.rows.height


def test_bad_catalog_rows_are_quarantined(tmp_path):
    header = "key,name_zh,aliases,unit,direction,category,value_kind,notes\n"
    path = gb18030(tmp_path / "indicators.csv", header + (
        "gdp,地区生产总值,GDP,亿元,higher_better,economy,level,\n"
        "gdp,生产总值,,亿元,higher_better,economy,level,\n"
        "forest_cover,,,%,higher_better,environment,share,\n"
        "pm25,细颗粒物(PM2.5)平均浓度,PM2.5,微克/立方米,smaller,environment,level,\n"
        "GDP Per Capita,人均地区生产总值,,元,higher_better,economy,level,\n"
        "population,常住人口,,万人,neutral,population,level,\n"))
    result = read_catalog(path)
    reasons = rejected_by_location(result)
    assert set(reasons) == {"row 2", "row 3", "row 4", "row 5", "row 6"}
    assert reasons["row 2"] == "indicators.csv: another row has the same key (indicator_key)"
    assert "name_zh" in reasons["row 4"] and "direction" in reasons["row 5"] and "indicator_key" in reasons["row 6"]
    assert result.rows["indicator_key"].to_list() == ["population"]
    assert result.rows.schema == pl.Schema(CATALOG_SCHEMA)


def test_the_embedded_reference_tables_are_clean():
    assert read_regions(DEFAULT_RAW / "reference" / "regions.csv").rejected.is_empty()
    assert read_catalog(DEFAULT_RAW / "reference" / "indicators.csv").rejected.is_empty()


@pytest.mark.parametrize(("model", "contract"), [(schemas.CatalogModel, CATALOG_SCHEMA),
                                                  (schemas.RegionModel, REGION_SCHEMA)])
def test_reference_models_match_their_contracts(model: type[pa.DataFrameModel], contract: dict):
    assert {name: column.dtype.type for name, column in model.to_schema().columns.items()} == contract


# --- the same resolver in every stage -------------------------------------------------------------

def test_statistics_rows_with_an_ambiguous_district_are_refused_naming_the_candidates(regions):
    base = {c: None for c in RAW_STAT_SCHEMA} | {"source_file": "districts.csv", "indicator_text": "地区生产总值",
                                                "year": "2020", "value_raw": "1000", "unit": "亿元"}
    raw = pl.DataFrame([base | {"location": f"row {i + 2}", "region_text": name}
                        for i, name in enumerate(["鼓楼区", "南京市鼓楼区", "张家港市 "])], schema=RAW_STAT_SCHEMA)
    result = build_observations(raw, pl.DataFrame(schema=FACTS), pl.DataFrame(schema=DOCUMENT_SCHEMA), CATALOG, regions)
    assert sorted(result.rows["region_code"].to_list()) == ["320106", "320582"]
    assert result.rejected["location"].to_list() == ["row 2"]
    assert result.rejected["reason"][0].startswith(GULOU)


def _documents() -> pl.DataFrame:
    return pl.DataFrame([{"doc_id": "nj", "file": "nj.txt", "region_code": "320100", "region_name": "南京市",
                          "doc_type": "five_year_plan", "period": "十四五", "period_start": 2021, "period_end": 2025,
                          "year": 2021}], schema={c: DOCUMENT_SCHEMA[c] for c in (
        "doc_id", "file", "region_code", "region_name", "doc_type", "period", "period_start", "period_end", "year")})


def _facts(*regions_named: str | None) -> pl.DataFrame:
    return pl.DataFrame([{"doc": "nj.txt", "doc_id": "nj", "line": i + 1, "region": name, "kind": "target",
                          "indicator_text": "地区生产总值", "indicator_key": "gdp", "value": 1000.0 + i,
                          "value_type": "level", "unit": "亿元", "comparator": ">=", "year": 2025,
                          "evidence": f"line {i + 1}"} for i, name in enumerate(regions_named)], schema=FACTS)


def test_targets_for_an_ambiguous_district_stay_unjudged_and_are_refused_naming_the_candidates(regions):
    result = build_targets(_facts("鼓楼区", "南京市鼓楼区", None, "张家港市 "), _documents(), CATALOG, regions=regions)
    rows = result.rows.sort("line")
    assert rows["region_code"].to_list() == [None, "320106", "320100", "320582"]
    assert rows["unresolved"].to_list() == ["region not in reference", None, None, None]
    assert result.rejected["location"].to_list() == ["line 1"]
    assert result.rejected["reason"][0].startswith(GULOU)
    assert result.rejected["reason"][0].endswith("the target is kept but cannot be judged")


def test_the_warehouse_ties_each_figure_to_the_region_it_names_else_its_documents(tmp_path, regions):
    wh = Warehouse(tmp_path / "warehouse")
    wh.begin("test")
    documents = pl.concat([pl.DataFrame(schema=DOCUMENT_SCHEMA), _documents()], how="diagonal")
    with wh.connect() as con:
        load_run(wh, con, run_id="test", loaded_at=datetime(2024, 1, 1), regions=regions, catalog=CATALOG,
                 documents=documents, facts=_facts("鼓楼区", "南京市鼓楼区", None, "张家港市 ", "玄武区"),
                 targets=pl.DataFrame(schema=TARGET_SCHEMA), observations=pl.DataFrame(schema=OBSERVATION_SCHEMA),
                 assessments=pl.DataFrame(schema=ASSESSMENT_SCHEMA), rejected=empty_rejected())
        stored = con.sql("SELECT line, region_code FROM extracted_fact ORDER BY line").fetchall()
    # An ambiguous or unknown area is not the document's region: it stays without a code.
    assert stored == [(1, None), (2, "320106"), (3, "320100"), (4, "320582"), (5, None)]


def test_alert_routes_resolve_regions_like_every_stage(tmp_path, regions):
    routing = gb18030(tmp_path / "alert_routing.csv", (
        "region,category,recipient,name\n"
        "*,*,office@planwatch.example,规划处\n"
        "鼓楼区,*,gulou@planwatch.example,鼓楼区发改局\n"
        "南京市鼓楼区,*,nj-gulou@planwatch.example,南京市鼓楼区发改局\n"
        "张家港市 ,economy,zjg@planwatch.example,张家港市发改委\n"))
    result = load_routing(routing, regions, {"economy": "economy"})
    routes = dict(result.rows.select("recipient", "region_code").iter_rows())
    assert routes == {"office@planwatch.example": "*", "nj-gulou@planwatch.example": "320106",
                      "zjg@planwatch.example": "320582"}
    assert result.rejected["location"].to_list() == ["row 3"]
    assert result.rejected["reason"][0].startswith(GULOU)
