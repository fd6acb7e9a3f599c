"""lib/memo.py: work redone only where the input changed, with results equal to computing it all."""

import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.lib.memo import VERIFY_ENV, PartitionMemo, SameInputMemo


def totals(seen: list):
    """A function local to region: each region's total and row count; records the regions it was given."""
    def run(figures: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
        both = pl.concat([figures, extra])
        seen.append(sorted(both["region_code"].unique().fill_null("-").to_list()))
        return both.group_by("region_code", maintain_order=True).agg(pl.col("value").sum(), pl.len().alias("n"))
    return run


def by_region(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.sort("region_code", nulls_last=True)


FIGURES = pl.DataFrame({"region_code": ["A", "A", "B", "C", None], "value": [1, 2, 3, 4, 5]})
EXTRA = pl.DataFrame({"region_code": ["B", "C"], "value": [10, 20]})


@pytest.fixture
def unverified(monkeypatch):
    monkeypatch.delenv(VERIFY_ENV, raising=False)


def test_only_the_changed_partitions_run_again_and_the_result_equals_a_full_computation(tmp_path, unverified):
    seen: list = []
    memo = PartitionMemo(tmp_path, "v1")
    run = totals(seen)

    def through_memo(figures, extra):
        return memo.run(run, {"figures": figures, "extra": extra}, key="region_code",
                        arrange=lambda rows: by_region(rows))

    first = through_memo(FIGURES, EXTRA)
    assert_frame_equal(by_region(first), by_region(run(FIGURES, EXTRA)))

    changes = [
        (FIGURES.with_columns(pl.when(pl.col("region_code") == "B").then(30).otherwise("value").alias("value")),
         EXTRA, ["B"]),                                                       # a value in one region
        (FIGURES.filter(pl.col("region_code").ne_missing("C")), EXTRA, ["C"]),  # rows vanish from one input
        (pl.concat([FIGURES, pl.DataFrame({"region_code": ["D"], "value": [7]})]), EXTRA, ["D"]),  # a new region
        (FIGURES.filter(pl.col("region_code").is_not_null()), EXTRA, []),    # the null-key rows go (nothing to run)
        (FIGURES, EXTRA.filter(pl.col("region_code") == "B"), ["C"]),        # the other input changes
    ]
    for figures, extra, expected in changes:
        through_memo(FIGURES, EXTRA)  # back to the first inputs: each change is compared with them
        seen.clear()
        got = through_memo(figures, extra)
        assert seen[0] == expected
        assert_frame_equal(got, by_region(run(figures, extra)))


def test_nothing_changed_runs_nothing_and_a_new_version_starts_over(tmp_path, unverified):
    seen: list = []
    run = totals(seen)
    inputs = {"figures": FIGURES, "extra": EXTRA}
    PartitionMemo(tmp_path, "v1").run(run, inputs, key="region_code", arrange=by_region)
    seen.clear()
    PartitionMemo(tmp_path, "v1").run(run, inputs, key="region_code", arrange=by_region)
    assert seen == [[]]
    seen.clear()
    PartitionMemo(tmp_path, "v2").run(run, inputs, key="region_code", arrange=by_region)
    assert seen == [["-", "A", "B", "C"]]
    assert [p.name for p in tmp_path.iterdir()] == ["v2"]  # the old version's files are gone


def test_verify_mode_catches_a_function_that_is_not_local(tmp_path, monkeypatch):
    def share_of_country(figures: pl.DataFrame) -> pl.DataFrame:  # depends on every region: not local
        return figures.with_columns(pl.col("value") / pl.col("value").sum())

    memo = PartitionMemo(tmp_path, "v1")
    memo.run(share_of_country, {"figures": FIGURES}, key="region_code", arrange=by_region)
    monkeypatch.setenv(VERIFY_ENV, "1")
    changed = FIGURES.with_columns(pl.when(pl.col("region_code") == "A").then(100).otherwise("value").alias("value"))
    with pytest.raises(AssertionError, match="differs from a computation from scratch"):
        memo.run(share_of_country, {"figures": changed}, key="region_code", arrange=by_region)


def test_same_input_returns_the_stored_result_until_an_input_changes(tmp_path, unverified):
    calls = []

    def split(figures: pl.DataFrame, limit: pl.DataFrame):
        calls.append(figures.height)
        cut = limit["value"][0]
        return figures.filter(pl.col("value") <= cut), figures.filter(pl.col("value") > cut)

    memo = SameInputMemo(tmp_path, "v1")
    limit = pl.DataFrame({"value": [2]})
    low, high = memo.run(split, FIGURES, limit)
    again = memo.run(split, FIGURES, limit)
    assert calls == [5]
    assert_frame_equal(again[0], low) and assert_frame_equal(again[1], high)
    memo.run(split, FIGURES, pl.DataFrame({"value": [3]}))
    assert calls == [5, 5]
    assert len(list((tmp_path / "v1").glob("*.??.parquet"))) == 2  # only the latest result is kept
    for stored in (tmp_path / "v1").glob("*.parquet"):
        stored.write_bytes(b"not parquet")  # unreadable: computed again, not an error
    memo.run(split, FIGURES, pl.DataFrame({"value": [3]}))
    assert calls == [5, 5, 5]


def _fail_writes_to(path):
    """A folder where the memo writes ``path`` makes that write fail, as a run dying there would stop it."""
    path.unlink(missing_ok=True)
    path.mkdir()
    (path / "in-the-way").touch()


def test_a_store_cut_short_between_its_files_never_pairs_new_digests_with_the_old_output(tmp_path, unverified):
    run = totals([])
    memo = PartitionMemo(tmp_path, "v1")

    def through_memo(figures):
        return memo.run(run, {"figures": figures, "extra": EXTRA}, key="region_code", arrange=by_region)

    through_memo(FIGURES)
    output = tmp_path / "v1" / "result.output.parquet"
    old_output = output.read_bytes()
    changed = FIGURES.with_columns(pl.col("value") * 10)
    _fail_writes_to(output)
    with pytest.raises(OSError):
        through_memo(changed)
    shutil.rmtree(output)
    output.write_bytes(old_output)  # what the run cut short left in place
    assert_frame_equal(through_memo(changed), by_region(run(changed, EXTRA)))


def test_a_same_input_store_cut_short_between_its_files_is_computed_again(tmp_path, unverified):
    def split(figures: pl.DataFrame):
        return figures.filter(pl.col("value") <= 2), figures.filter(pl.col("value") > 2)

    changed = FIGURES.with_columns(pl.col("value") + 1)
    SameInputMemo(tmp_path / "probe", "v1").run(split, changed)  # the names its result's files get
    _, second = sorted(p.name for p in (tmp_path / "probe" / "v1").glob("result.*.??.parquet"))
    memo = SameInputMemo(tmp_path / "memo", "v1")
    memo.run(split, FIGURES)
    _fail_writes_to(tmp_path / "memo" / "v1" / second)
    with pytest.raises(OSError):
        memo.run(split, changed)
    shutil.rmtree(tmp_path / "memo" / "v1" / second)  # the run died after writing the first frame
    low, high = memo.run(split, changed)
    assert_frame_equal(low, split(changed)[0]) and assert_frame_equal(high, split(changed)[1])


def test_a_folder_with_pattern_characters_in_its_name_still_hits(tmp_path, unverified):
    seen: list = []
    run = totals(seen)
    inputs = {"figures": FIGURES, "extra": EXTRA}
    for _ in range(2):
        PartitionMemo(tmp_path / "night[1]*", "v1").run(run, inputs, key="region_code", arrange=by_region)
    assert seen[1] == []  # read back, not recomputed: the path is a path, not a glob pattern
