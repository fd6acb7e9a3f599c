"""pandera models at the stage boundaries (pipelines/lib/schemas.py): contracts, checks, quarantine."""

from __future__ import annotations

import json

import pandera.polars as pa
import polars as pl
import pytest

from pipelines.lib import schemas
from pipelines.lib.documents import DOCUMENT_SCHEMA, doc_id_of, load_documents
from pipelines.lib.extraction import FACT_SCHEMA
from pipelines.lib.observations import OBSERVATION_SCHEMA, build_observations
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult
from pipelines.lib.statistics import RAW_STAT_SCHEMA, read_statistics
from pipelines.lib.targets import TARGET_SCHEMA, build_targets
from tests.conftest import DEFAULT_RAW, GOLD_DIR

CATALOG = load_catalog(DEFAULT_RAW / "reference" / "indicators.csv")
REGIONS = load_regions(DEFAULT_RAW / "reference" / "regions.csv")


def model_dtypes(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}


@pytest.mark.parametrize("model, contract", [
    (schemas.DocumentModel, DOCUMENT_SCHEMA),
    (schemas.FactModel, {**FACT_SCHEMA, "doc_id": pl.String}),
    (schemas.RawStatModel, RAW_STAT_SCHEMA),
    (schemas.ObservationModel, OBSERVATION_SCHEMA),
    (schemas.TargetModel, TARGET_SCHEMA),
    (schemas.RejectedModel, REJECTED_SCHEMA),
])
def test_models_match_the_frame_contracts(model, contract):
    assert model_dtypes(model) == dict(contract)


def test_assessment_model_matches_its_contract():
    from pipelines.lib.assessment import ASSESSMENT_SCHEMA

    assert model_dtypes(schemas.AssessmentModel) == dict(ASSESSMENT_SCHEMA)


def observation(**values) -> dict:
    row = {"region_code": "320582", "indicator_key": "gdp", "year": 2021, "value": 3030.21, "unit": "亿元",
           "value_type": "level", "source": "2021年张家港市统计公报", "source_kind": "bulletin", "source_rank": 2,
           "source_file": "stats.csv", "location": "row 2", "is_chosen": True, "source_url": None, "evidence": None}
    return {**row, **values}


def observations(*rows: dict) -> StageResult:
    return StageResult(pl.DataFrame(list(rows), schema=OBSERVATION_SCHEMA))


def test_broken_statistics_are_quarantined_with_their_reason_and_the_rest_goes_on():
    result = schemas.quarantine_invalid(observations(
        observation(),
        observation(indicator_key="rd_expenditure_share_gdp", value=130.0, unit="%", location="row 3"),
        observation(indicator_key="pm25_concentration", value=3500.0, unit="微克/立方米", location="row 4"),
        observation(year=2202, location="row 5"),
        observation(year=2022, value=3100.0, location="row 6", is_chosen=False),
        observation(year=2022, value=3200.0, location="row 7"),
        observation(region_code="32058", year=2020, location="row 8"),
    ), schemas.OBSERVATIONS, catalog=CATALOG)

    assert result.rows["location"].to_list() == ["row 2"]
    refused = {r["location"]: r for r in result.rejected.iter_rows(named=True)}
    assert refused["row 3"]["stage"] == "validate:share_in_percent_within_0_100"
    assert "value=130.0 %" in refused["row 3"]["reason"] and "0–100" in refused["row 3"]["reason"]
    assert refused["row 4"]["stage"] == "validate:concentration_within_0_1000"
    assert "value=3500.0 微克/立方米" in refused["row 4"]["reason"]
    assert refused["row 5"]["stage"] == "validate:year:less_than_or_equal_to"
    assert "year=2202" in refused["row 5"]["reason"]
    # A key with two values: both rows are held back, neither is guessed right.
    for location in ("row 6", "row 7"):
        assert refused[location]["stage"] == "validate:key_is_unique"
        assert "region_code, indicator_key, year, value_type, source" in refused[location]["reason"]
    assert refused["row 8"]["stage"] == "validate:region_code:str_matches"
    assert {r["source_file"] for r in refused.values()} == {"stats.csv"}
    # The refused row is kept whole, for the analyst to correct.
    assert json.loads(refused["row 3"]["raw"])["value"] == 130.0
    assert json.loads(refused["row 4"]["raw"])["indicator_key"] == "pm25_concentration"


def test_every_failure_of_a_row_is_reported_not_only_the_first():
    result = schemas.quarantine_invalid(observations(
        observation(),
        observation(region_code="x", year=1900, indicator_key="rd_expenditure_share_gdp", unit="%", value=-3.0,
                    source_kind="rumour", location="row 9"),
    ), schemas.OBSERVATIONS, catalog=CATALOG)
    reason = result.rejected.row(0, named=True)["reason"]
    for expected in ("region_code=x", "year=1900", "source_kind=rumour", "value=-3.0 %"):
        assert expected in reason
    assert result.rows.height == 1


def test_two_chosen_values_for_one_key_are_refused():
    result = schemas.quarantine_invalid(observations(
        observation(source="公报"), observation(source="年鉴", value=3031.0, location="row 3"),
    ), schemas.OBSERVATIONS, catalog=CATALOG)
    assert set(result.rejected["stage"]) == {"validate:one_chosen_per_key"}
    assert result.rows.is_empty()


def test_units_decide_the_range():
    ok = schemas.quarantine_invalid(observations(
        observation(indicator_key="gdp_growth", value=-12.0, unit="%", value_type="change_pct"),  # a fall
        observation(indicator_key="pm25_concentration", value=150.0, unit="微克/立方米", location="row 3"),
        observation(indicator_key="urbanization_rate_resident", value=75.1, unit="%", location="row 4"),
    ), schemas.OBSERVATIONS, catalog=CATALOG)
    assert ok.rejected.is_empty()
    broken = schemas.quarantine_invalid(observations(
        observation(value=-5.0),  # GDP cannot be negative
        observation(indicator_key="gdp", value=-120.0, unit="%", value_type="change_pct", location="row 3"),
        observation(year=2019, value=3.0, unit="万元", location="row 4"),  # not the catalog unit
        observation(indicator_key="no_such_indicator", location="row 5"),
    ), schemas.OBSERVATIONS, catalog=CATALOG)
    assert broken.rejected["stage"].to_list() == [
        "validate:amount_not_negative", "validate:change_pct_not_below_minus_100",
        "validate:unit_is_catalog_unit", "validate:indicator_in_catalog"]


def test_a_missing_column_or_a_wrong_dtype_is_a_bug_and_raises():
    frame = observations(observation()).rows
    with pytest.raises(schemas.ContractBroken, match="unit"):
        schemas.quarantine_invalid(StageResult(frame.drop("unit")), schemas.OBSERVATIONS, catalog=CATALOG)
    with pytest.raises(schemas.ContractBroken, match="year"):
        schemas.quarantine_invalid(StageResult(frame.with_columns(pl.col("year").cast(pl.Int64))),
                                   schemas.OBSERVATIONS, catalog=CATALOG)


def test_a_column_added_by_a_stage_is_not_a_failure():
    frame = observations(observation()).rows.with_columns(pl.lit("x").alias("new_column"))
    assert schemas.row_failures(frame, schemas.OBSERVATIONS, CATALOG).is_empty()


def test_clean_and_empty_results_pass_unchanged():
    clean = observations(observation())
    assert schemas.quarantine_invalid(clean, schemas.OBSERVATIONS, catalog=CATALOG) is clean
    empty = StageResult(pl.DataFrame(schema=TARGET_SCHEMA))
    assert schemas.quarantine_invalid(empty, schemas.TARGETS, catalog=CATALOG) is empty


def test_targets_share_and_years_are_checked():
    base = {c: None for c in TARGET_SCHEMA} | {
        "doc_id": "215f7eb6297523ac", "kind": "target", "indicator_key": "rd_expenditure_share_gdp", "unit": "%",
        "measure": "level", "baseline_year": 2015, "target_year": 2020, "baseline_value": 2.55}
    frame = pl.DataFrame([
        base | {"target_id": "a", "target_value": 3.0},
        base | {"target_id": "b", "target_value": 130.0},
        base | {"target_id": "c", "target_value": 3.0, "baseline_year": 2025},
        base | {"target_id": "d", "target_value": 7.0, "measure": "rate", "indicator_key": "gdp_growth"},
    ], schema=TARGET_SCHEMA)
    result = schemas.quarantine_invalid(StageResult(frame), schemas.TARGETS, catalog=CATALOG)
    assert result.rows["target_id"].to_list() == ["a", "d"]
    assert result.rejected["stage"].to_list() == ["validate:share_in_percent_within_0_100",
                                                  "validate:baseline_before_target"]
    assert result.rejected["source_file"].to_list() == ["document 215f7eb6297523ac"] * 2


def test_documents_reject_without_copying_the_text():
    frame = pl.DataFrame([{c: None for c in DOCUMENT_SCHEMA} | {
        "doc_id": "215f7eb6297523ac", "file": "a.txt", "n_lines": 3, "text": "很长的正文", "period": "十九五"}],
        schema=DOCUMENT_SCHEMA)
    result = schemas.quarantine_invalid(StageResult(frame), schemas.DOCUMENTS)
    row = result.rejected.row(0, named=True)
    assert row["stage"] == "validate:period:isin" and row["source_file"] == "a.txt"
    assert "text" not in json.loads(row["raw"])


def test_rejected_rows_need_a_stage_and_a_reason():
    rejected = pl.DataFrame([{"source_file": "a.csv", "location": "row 2", "stage": "normalize", "reason": ""}],
                            schema=REJECTED_SCHEMA)
    assert schemas.model_failures(schemas.RejectedModel, rejected)["check"].to_list() == ["reason:str_length"]


# --- the real inputs pass: no false alarms on the embedded data and the hand-labelled figures ----------

def gold_facts() -> pl.DataFrame:
    frame = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(GOLD_DIR.glob("*.csv"))],
                      how="diagonal_relaxed")
    doc_ids = {p.name: doc_id_of(p.read_bytes()) for p in (DEFAULT_RAW / "plans").glob("*.txt")}
    return (
        frame.with_columns(*(pl.lit(None).alias(c) for c in FACT_SCHEMA if c not in frame.columns))
        .select(list(FACT_SCHEMA)).cast(FACT_SCHEMA)
        .with_columns(pl.col("doc").replace_strict(doc_ids).alias("doc_id"))
    )


def test_hand_labelled_figures_and_the_targets_built_from_them_pass():
    facts = gold_facts()
    assert schemas.row_failures(facts, schemas.FACTS, CATALOG).is_empty()
    documents = load_documents(DEFAULT_RAW / "plans", DEFAULT_RAW / "plans" / "manifest.csv", REGIONS)
    assert schemas.row_failures(documents.rows, schemas.DOCUMENTS).is_empty()
    targets = build_targets(facts, documents.rows, CATALOG, regions=REGIONS)
    assert targets.rows.height > 100
    assert schemas.row_failures(targets.rows, schemas.TARGETS, CATALOG).is_empty()


def test_embedded_statistics_pass():
    raw = read_statistics(DEFAULT_RAW / "statistics")
    assert schemas.row_failures(raw.rows, schemas.RAW_STATISTICS).is_empty()
    observed = build_observations(raw.rows, pl.DataFrame(schema={**FACT_SCHEMA, "doc_id": pl.String}),
                                  pl.DataFrame(schema=DOCUMENT_SCHEMA), CATALOG, REGIONS)
    assert observed.rows.height > 50
    assert schemas.row_failures(observed.rows, schemas.OBSERVATIONS, CATALOG).is_empty()
