"""The per-document facts cache and the document chunks that extraction fans out over."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.config import REPO_ROOT, Paths
from pipelines.lib.documents import load_documents
from pipelines.lib.facts_cache import FactsCache, extract_documents, extraction_modules, extractor_version
from pipelines.lib.fanout import ChunkFacts, document_chunks, fan_out, gather_chunks
from pipelines.lib.reference import load_catalog, load_regions


@pytest.fixture(scope="module")
def seeds():
    paths = Paths.from_dirs(REPO_ROOT / "data" / "raw", REPO_ROOT / "data" / "warehouse")
    documents = load_documents(paths.plans_dir, paths.manifest, load_regions(paths.regions)).rows
    return documents, load_catalog(paths.indicator_catalog)


def test_unchanged_documents_come_from_the_cache_and_a_changed_one_is_extracted_again(seeds, tmp_path):
    documents, catalog = seeds
    cache = FactsCache(tmp_path / "facts", extractor_version(catalog))
    uncached, _ = extract_documents(documents, catalog)

    first, summary = extract_documents(documents, catalog, cache)
    assert (summary.extracted, summary.reused) == (documents.height, 0)
    second, summary = extract_documents(documents, catalog, cache)
    assert (summary.extracted, summary.reused) == (0, documents.height)
    assert first.equals(uncached) and second.equals(uncached)
    assert uncached.height > 100 and uncached["doc_id"].null_count() == 0

    # One document gains a sentence: new bytes, new doc_id; only it is extracted again.
    changed = documents.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.col("text") + "\n到2025年,森林覆盖率达到30%。")
        .otherwise(pl.col("text")).alias("text"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("changed00000000")).otherwise(pl.col("doc_id")).alias("doc_id"),
    )
    third, summary = extract_documents(changed, catalog, cache)
    assert (summary.extracted, summary.reused) == (1, documents.height - 1)
    assert third.equals(extract_documents(changed, catalog)[0])
    assert third.filter(pl.col("doc_id") == "changed00000000").height > 0

    # The entry of the old version of that document is no longer live: pruning removes it alone.
    assert cache.prune(set(summary.keys)) == 1
    assert len(list(cache.folder.glob("*.parquet"))) == documents.height


def test_a_new_extractor_version_starts_a_fresh_cache(seeds, tmp_path):
    documents, catalog = seeds
    smaller_catalog = catalog.filter(pl.col("indicator_key") != "gdp")
    assert extractor_version(catalog) == extractor_version(catalog.clone())
    assert extractor_version(smaller_catalog) != extractor_version(catalog)

    old = FactsCache(tmp_path, extractor_version(smaller_catalog))
    _, summary = extract_documents(documents.head(2), smaller_catalog, old)
    new = FactsCache(tmp_path, extractor_version(catalog))
    _, summary = extract_documents(documents.head(2), catalog, new)
    assert summary.extracted == 2
    assert new.prune(set(summary.keys)) == 2  # the old version's files
    assert [p.name for p in tmp_path.iterdir()] == [new.version]


def test_the_extractor_version_covers_the_modules_extraction_imports():
    modules = extraction_modules()
    assert modules[0].startswith("pipelines.lib.") and "pipelines.lib.extraction" in modules
    # Modules extraction does not reach (the cache itself, the warehouse) do not invalidate the cache.
    assert "pipelines.lib.facts_cache" not in modules and "pipelines.lib.warehouse" not in modules


def test_chunks_cover_every_document_once_in_order_and_gather_back(seeds):
    documents, _ = seeds
    chunks = document_chunks(documents, 3)
    assert 1 < len(chunks) <= 3 and all(chunk.height for _, chunk in chunks)
    assert pl.concat([chunk for _, chunk in chunks]).equals(documents)
    assert [start for start, _ in chunks] == sorted(start for start, _ in chunks)
    assert document_chunks(documents, 50)[-1][0] == documents.height - 1  # never more chunks than documents
    assert len(document_chunks(documents.head(0), 4)) == 1

    parts = [ChunkFacts(start, chunk.select(pl.col("file").alias("doc")), [f"k{start}"], 1, 0, "v1")
             for start, chunk in chunks]
    gathered = gather_chunks(list(reversed(parts)))
    assert gathered.facts["doc"].to_list() == documents["file"].to_list()
    assert gathered.keys == [f"k{start}" for start, _ in chunks]
    assert (gathered.extracted, gathered.version) == (len(chunks), "v1")


def test_the_executor_is_chosen_by_the_environment():
    assert fan_out({}).executor == "in_process"
    choice = fan_out({"PLANWATCH_EXECUTOR": "multiprocess", "PLANWATCH_MAX_CONCURRENT": "3"})
    assert (choice.executor, choice.max_concurrent, choice.chunks) == ("multiprocess", 3, 6)
    assert fan_out({"PLANWATCH_EXTRACT_CHUNKS": "5"}).chunks == 5
    with pytest.raises(ValueError, match="PLANWATCH_EXECUTOR"):
        fan_out({"PLANWATCH_EXECUTOR": "celery"})
    with pytest.raises(ValueError, match="PLANWATCH_MAX_CONCURRENT"):
        fan_out({"PLANWATCH_MAX_CONCURRENT": "0"})


def test_documents_without_text_are_read_again_when_their_facts_are_not_cached(seeds, tmp_path):
    """plan_documents leaves the text of unchanged files out; the extractor reads a file only when it has
    no facts for it, and never caches facts under a content hash the file no longer has."""
    documents, catalog = seeds
    expected, _ = extract_documents(documents, catalog)
    texts = dict(zip(documents["file"], documents["text"], strict=True))
    reads = []

    def reread(doc: dict) -> tuple[str, bool]:
        reads.append(doc["file"])
        return texts[doc["file"]], doc["file"] != documents["file"][0]

    cache = FactsCache(tmp_path / "facts", extractor_version(catalog))
    skipped = documents.with_columns(pl.lit(None, pl.String).alias("text"))
    facts, summary = extract_documents(skipped, catalog, cache, reread=reread)
    assert facts.equals(expected) and reads == documents["file"].to_list()
    assert summary.extracted == documents.height
    # The first file's bytes had changed under it: its facts were used but not cached.
    reads.clear()
    facts, summary = extract_documents(skipped, catalog, cache, reread=reread)
    assert facts.equals(expected) and reads == [documents["file"][0]]
    assert (summary.extracted, summary.reused) == (1, documents.height - 1)


def test_the_gathering_folds_the_cache_into_one_snapshot(seeds, tmp_path):
    """After a gathering the cache is one file holding every live document (those without figures too);
    the next run reads it instead of a file per document, and a changed document is extracted again."""
    documents, catalog = seeds
    expected, _ = extract_documents(documents, catalog)
    cache = FactsCache(tmp_path / "facts", extractor_version(catalog))
    first, summary = extract_documents(documents, catalog, cache, with_keys=True)
    assert first.drop("_key").equals(expected)
    empty = documents.head(1).with_columns(pl.lit("没有数字的文件").alias("text"), pl.lit("empty0000000000").alias("doc_id"),
                                           pl.lit("empty.txt").alias("file"))
    with_empty = pl.concat([documents, empty])
    first, summary = extract_documents(with_empty, catalog, cache, with_keys=True)
    assert cache.consolidate(first, summary.keys) == with_empty.height  # the per-document files
    assert [p.name for p in cache.folder.iterdir()] == ["snapshot.parquet"]

    again = FactsCache(tmp_path / "facts", cache.version)
    second, summary = extract_documents(with_empty, catalog, again, with_keys=True)
    assert (summary.extracted, summary.reused) == (0, with_empty.height)
    assert second.drop("_key").equals(expected)
    assert again.consolidate(second, summary.keys) == 0  # nothing new: the snapshot stays as it is

    changed = documents.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("text") + "\n到2025年,森林覆盖率达到30%。")
        .otherwise(pl.col("text")).alias("text"),
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("changed00000000")).otherwise(pl.col("doc_id")).alias("doc_id"),
    )
    third, summary = extract_documents(changed, catalog, again, with_keys=True)
    assert (summary.extracted, summary.reused) == (1, documents.height - 1)
    assert again.consolidate(third, summary.keys) == 1
    fourth, summary = extract_documents(changed, catalog, FactsCache(tmp_path / "facts", cache.version))
    assert (summary.extracted, summary.reused) == (0, documents.height)
    assert fourth.equals(extract_documents(changed, catalog)[0])


def test_a_document_that_cannot_be_read_again_is_refused_and_nothing_of_a_changed_one_is_cached(seeds, tmp_path):
    """Between plan_documents and extraction a skipped file may be deleted (refused with its reason, the run
    goes on) or rewritten (its facts are used this run, but neither filed under the old content hash nor
    kept in the snapshot); a row without text and no way to read it is a programming error."""
    from pipelines.lib.reading import UnreadableDocument

    documents, catalog = seeds
    skipped = documents.with_columns(pl.lit(None, pl.String).alias("text"))
    texts = dict(zip(documents["file"], documents["text"], strict=True))
    gone, rewritten = documents["file"][0], documents["file"][1]

    def reread(doc: dict) -> tuple[str, bool]:
        if doc["file"] == gone:
            raise UnreadableDocument(f"{gone}: no such file")
        return texts[doc["file"]], doc["file"] != rewritten

    cache = FactsCache(tmp_path / "facts", extractor_version(catalog))
    facts, summary = extract_documents(skipped, catalog, cache, reread=reread, with_keys=True)
    assert summary.rejected.select("source_file", "stage").rows() == [(gone, "extract")]
    assert "no such file" in summary.rejected["reason"][0] and "left out of this run" in summary.rejected["reason"][0]
    assert gone not in set(facts["doc"]) and rewritten in set(facts["doc"])
    assert len(summary.keys) == documents.height - 2
    cache.consolidate(facts, summary.keys)
    again = FactsCache(tmp_path / "facts", cache.version)
    assert again.snapshot().filter(pl.col("doc") == rewritten).is_empty()
    assert len(again.snapshot_keys()) == documents.height - 2

    with pytest.raises(ValueError, match="no text"):
        extract_documents(skipped, catalog, FactsCache(tmp_path / "other", cache.version))


def test_a_run_loads_the_snapshot_it_looked_at_even_if_another_run_replaces_it(seeds, tmp_path):
    documents, catalog = seeds
    first = FactsCache(tmp_path / "facts", extractor_version(catalog))
    facts, summary = extract_documents(documents, catalog, first, with_keys=True)
    first.consolidate(facts, summary.keys)

    reader = FactsCache(tmp_path / "facts", first.version)
    assert all(reader.has(k) for k in summary.keys)
    # Another run gathers without these documents and replaces the snapshot.
    FactsCache(tmp_path / "facts", first.version).consolidate(facts.head(0), [])
    assert reader.load(summary.keys).sort("_key", "line", "char_start").equals(
        facts.filter(pl.col("line").is_not_null()).select(reader.snapshot().columns).sort("_key", "line", "char_start"))
