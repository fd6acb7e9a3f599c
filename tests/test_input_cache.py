"""The statistics cache: files whose name and bytes are unchanged are not parsed again, and give back
exactly what parsing them gives (rows and rejected rows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.lib.parquet_cache import ParquetCache, cache_dir, module_closure
from pipelines.lib.statistics import read_statistics, read_statistics_files, reader_version

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Statistics files of every kind, several of which yield rejected rows: a wide csv with a cell
    outside its table, a workbook with a sheet of notes, a file that is not a workbook."""
    statistics = tmp_path / "statistics"
    statistics.mkdir()
    for name in ("long_zh.csv", "long_en.csv", "yearbook_wide.csv"):
        shutil.copy(FIXTURES / name, statistics / name)
    workbook = openpyxl.Workbook()
    table = workbook.active
    table.title = "张家港市"
    table.append(["指标", "单位", 2020, "2021年"])
    table.append(["地区生产总值", "亿元", 2686.6, 3030.21])
    workbook.create_sheet("说明").append(["本表数据来自统计年鉴。"])
    workbook.save(statistics / "yearbook.xlsx")
    (statistics / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    return statistics


def _assert_same(got, expected) -> None:
    assert got.rows.schema == expected.rows.schema and got.rejected.schema == expected.rejected.schema
    assert got.rows.equals(expected.rows) and got.rejected.equals(expected.rejected)


def test_unchanged_files_come_from_the_cache_with_their_rejected_rows_and_a_changed_one_is_read_again(folder, tmp_path):
    cache = ParquetCache(tmp_path / "cache", reader_version())
    plain = read_statistics(folder)
    rejected_files = set(plain.rejected["source_file"])
    assert {"yearbook_wide.csv", "yearbook.xlsx", "broken.xlsx"} <= rejected_files and plain.rows.height > 10

    cold, reads = read_statistics_files(folder, cache)
    assert (reads.read, reads.reused) == (5, 0)
    warm, reads = read_statistics_files(folder, cache)
    assert (reads.read, reads.reused) == (0, 5)
    _assert_same(cold, plain)
    _assert_same(warm, plain)  # the rejected rows of cached files are reported again, as parsed

    with (folder / "long_zh.csv").open("a", encoding="utf-8") as changed:
        changed.write("连云港市,地区生产总值,2022,4005.0,亿元,统计公报\n")
    third, reads = read_statistics_files(folder, cache)
    assert (reads.read, reads.reused) == (1, 4)
    _assert_same(third, read_statistics(folder))
    assert third.rows.height == plain.rows.height + 1

    # The same bytes under another name are read again: the rows carry the file's name.
    (folder / "long_en.csv").rename(folder / "long_en_2.csv")
    renamed, reads = read_statistics_files(folder, cache)
    assert (reads.read, reads.reused) == (1, 4)
    assert "long_en_2.csv" in set(renamed.rows["source_file"])
    _assert_same(renamed, read_statistics(folder))


def test_a_deleted_files_entries_are_pruned(folder, tmp_path):
    cache = ParquetCache(tmp_path / "cache", reader_version())
    _, reads = read_statistics_files(folder, cache)
    assert cache.prune(set(reads.keys)) == 0
    (folder / "yearbook.xlsx").unlink()
    _, reads = read_statistics_files(folder, cache)
    assert (reads.read, reads.reused) == (0, 4)
    assert cache.prune(set(reads.keys)) == 2  # its rows and its rejected rows
    assert len(list(cache.folder.glob("*.parquet"))) == 2 * 4


def test_a_changed_reader_version_starts_a_fresh_cache(folder, tmp_path):
    old = ParquetCache(tmp_path / "cache", "0123456789abcdef")
    read_statistics_files(folder, old)
    new = ParquetCache(tmp_path / "cache", reader_version())
    assert new.version != old.version
    result, reads = read_statistics_files(folder, new)
    assert (reads.read, reads.reused) == (5, 0)
    _assert_same(result, read_statistics(folder))
    assert new.prune(set(reads.keys)) == 2 * 5  # the old version's files
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [new.version]


def test_the_reader_version_covers_the_modules_the_reader_imports_and_polars(monkeypatch):
    modules = module_closure("pipelines.lib.statistics")
    assert {"pipelines.lib.statistics", "pipelines.lib.reading", "pipelines.lib.raw_files",
            "pipelines.lib.stage"} <= set(modules)
    assert "pipelines.lib.extraction" not in modules and "pipelines.lib.warehouse" not in modules
    current = reader_version()
    assert reader_version() == current
    monkeypatch.setattr(pl, "__version__", "0.0.0")  # another polars may parse differently
    assert reader_version() != current


def test_cache_dir_sits_beside_the_facts_cache_unless_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("PLANWATCH_STATISTICS_CACHE_DIR", raising=False)
    assert cache_dir(tmp_path, "statistics") == tmp_path / "cache" / "statistics"
    monkeypatch.setenv("PLANWATCH_STATISTICS_CACHE_DIR", str(tmp_path / "shared"))
    assert cache_dir(tmp_path, "statistics") == (tmp_path / "shared").resolve()
