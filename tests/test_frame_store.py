"""Step outputs written by lib/frame_store.py (the I/O manager of every run) come back exactly."""

import datetime as dt
import pickle

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.defs.storage import FrameIOManager
from pipelines.lib import frame_store
from pipelines.lib.fanout import ChunkFacts
from pipelines.lib.stage import StageResult, empty_rejected


def every_dtype() -> pl.DataFrame:
    """One column of each dtype the pipeline's frames use, and the awkward values of each."""
    return pl.DataFrame({
        "text": ["十四五", None, ""],
        "int32": pl.Series([1, None, -3], dtype=pl.Int32),
        "int64": [2**40, None, 0],
        "uint32": pl.Series([0, 7, None], dtype=pl.UInt32),
        "uint64": pl.Series([2**63, 1, 0], dtype=pl.UInt64),
        "float": [1.5, float("nan"), -0.0],
        "flag": [True, None, False],
        "at": [dt.datetime(2026, 11, 23, 1, 2, 3, 456789), None, dt.datetime(2020, 1, 1)],
        "at_tz": pl.Series([dt.datetime(2020, 1, 1)] * 3).dt.replace_time_zone("Asia/Shanghai"),
        "day": [dt.date(2025, 12, 31), None, dt.date(2021, 1, 1)],
        "nothing": pl.Series([None] * 3, dtype=pl.Null),
        "years": [[2020, 2025], None, []],
        "kind": pl.Series(["target", "result", "target"], dtype=pl.Enum(["result", "target"])),
        "pair": [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}],
    })


def test_frames_inside_any_object_come_back_equal_and_sit_beside_the_pickle(tmp_path):
    frame = every_dtype()
    stored = {"result": StageResult(frame, empty_rejected()), "same": frame, "chunk": (3, frame.head(1)),
              "count": 7}
    path = tmp_path / "step" / "result"
    path.parent.mkdir()
    frame_store.dump(stored, path)
    back = frame_store.load(path)

    assert_frame_equal(back["result"].rows, frame)
    assert_frame_equal(back["result"].rejected, empty_rejected())
    assert_frame_equal(back["same"], frame)
    assert back["chunk"][0] == 3 and back["chunk"][1].equals(frame.head(1), null_equal=True)
    assert back["count"] == 7

    folders = [p for p in path.parent.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("result" + frame_store.FRAMES_SUFFIX)
    # One file per distinct frame: the frame held twice is written once.
    assert len(list(folders[0].glob("*.parquet"))) == 3
    # The pickle itself holds no frame data: only names of files.
    assert b"\xe5\x8d\x81\xe5\x9b\x9b" not in path.read_bytes()  # "十四" in UTF-8


def test_a_large_frame_comes_back_in_one_chunk(tmp_path):
    pieces = [pl.DataFrame({"n": range(i * 100_000, (i + 1) * 100_000), "s": ["十四五"] * 100_000}) for i in range(4)]
    frame = pl.concat(pieces, rechunk=False)
    assert frame.n_chunks() == 4
    frame_store.dump(frame, tmp_path / "result")
    back = frame_store.load(tmp_path / "result")
    assert back.n_chunks() == 1 and back.equals(frame)


def test_a_rewrite_replaces_the_earlier_frames_and_brackets_in_paths_are_not_patterns(tmp_path):
    step = tmp_path / "extracted_facts.extract_document_chunk[chunk_0000]"
    step.mkdir()
    path = step / "result"
    (step / ".result.0123456789ab.partial").write_bytes(b"a write killed before its rename")
    frame_store.dump(ChunkFacts(0, pl.DataFrame({"v": [1, 2]}), ["k"], 1, 0, "v1"), path)
    first = {p.name for p in step.iterdir()}
    frame_store.dump(ChunkFacts(0, pl.DataFrame({"v": [3]}), ["k"], 1, 0, "v1"), path)

    back = frame_store.load(path)
    assert back.facts["v"].to_list() == [3]
    folders = [p.name for p in step.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0] not in first  # the earlier folder is gone
    assert not [p for p in step.iterdir() if p.name.endswith(".partial")]


def test_a_failed_write_leaves_the_earlier_output_whole(tmp_path):
    path = tmp_path / "result"
    frame_store.dump({"rows": pl.DataFrame({"v": [1]})}, path)

    class Unpicklable:
        def __reduce__(self):
            raise pickle.PicklingError("no")

    with pytest.raises(pickle.PicklingError):
        frame_store.dump({"rows": pl.DataFrame({"v": [2]}), "bad": Unpicklable()}, path)
    assert frame_store.load(path)["rows"]["v"].to_list() == [1]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["result"]


def test_a_dagster_run_hands_frames_between_steps_through_parquet(tmp_path):
    @dg.asset
    def upstream() -> StageResult:
        return StageResult(every_dtype(), empty_rejected())

    @dg.asset
    def downstream(upstream: StageResult) -> int:
        assert_frame_equal(upstream.rows, every_dtype())
        return upstream.rows.height

    result = dg.materialize([upstream, downstream], resources={"io_manager": FrameIOManager(base_dir=str(tmp_path))})
    assert result.success and result.output_for_node("downstream") == 3
    assert list(tmp_path.glob(f"upstream{frame_store.FRAMES_SUFFIX}*/0000.parquet"))


def test_the_step_storage_folder_comes_from_the_environment(tmp_path, monkeypatch):
    from pipelines.defs.storage import storage

    monkeypatch.setenv("PLANWATCH_STEP_STORAGE_DIR", str(tmp_path))

    @dg.asset
    def handed_on() -> pl.DataFrame:
        return every_dtype()

    assert dg.materialize([handed_on], resources=storage().resources).success
    assert (tmp_path / "handed_on").is_file()
    assert list(tmp_path.glob(f"handed_on{frame_store.FRAMES_SUFFIX}*/0000.parquet"))
