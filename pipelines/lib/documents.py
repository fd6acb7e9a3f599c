"""The plan_documents stage: read every document under plans/, decode it, and identify
its region, type and period from the analyst's manifest (or, failing that, from the text).

The manifest (plans/manifest.csv, UTF-8 or GB18030 as Excel saves it) has one row per file: file,
region, doc_type, period, year, title. What it cannot be trusted with is refused with its row, and
the document is still read:
- a year that is not one (2021 and 2021年 are years) leaves the document's year empty;
- a doc_type outside DOC_TYPES or a period outside PERIODS leaves that field empty;
- a file listed twice: the last row is used, the earlier ones are refused;
- a listed file that is not in plans/ is refused.
In plans/ every file other than the manifest is a document: a format Planwatch cannot read
(.doc, .wps, .xlsx, …) is refused with what to save it as; hidden files (.DS_Store, ~$ lock files of
an open Office document) are not documents. The region (manifest or text) resolves through
reference.resolve_region; a region that is unknown or ambiguous is reported, the document kept.

A nightly run does not decode every document again: the document index (``DocumentIndex``, one parquet
file per run under <warehouse>/cache/documents/) remembers each file's size, modification time and
inode with what reading it gave (content hash, encoding, format, lines, the identity its first lines
suggest). A file whose size, modification and change times and inode are unchanged is not read; its row carries
``text`` null, and the extractor, whose facts cache is keyed by the content hash, reads it again only
when it has no facts for it (``reread_text``). The same test make and git use to skip unchanged files.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.lib.parquet_cache import ParquetCache, code_digest, read_parquet_paths
from pipelines.lib.raw_files import is_input_file
from pipelines.lib.reading import (
    SUPPORTED_SUFFIXES,
    DecodedDocument,
    UnreadableDocument,
    read_analyst_csv,
    read_document,
)
from pipelines.lib.reference import PERIODS, region_spellings, resolve_region
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult, empty_rejected, rejected_frame

DOC_TYPES = ("five_year_plan", "special_plan", "implementation_plan", "work_report", "bulletin")
DOCUMENT_SCHEMA = {
    "doc_id": pl.String,
    "file": pl.String,
    "region_code": pl.String,
    "region_name": pl.String,
    "doc_type": pl.String,
    "period": pl.String,
    "period_start": pl.Int32,
    "period_end": pl.Int32,
    "year": pl.Int32,
    "title": pl.String,
    "encoding": pl.String,
    "format": pl.String,
    "n_lines": pl.Int32,
    "size_bytes": pl.Int64,  # the file's size
    "text": pl.String,  # null when the file is unchanged since the last run and was not read (see above)
}
MANIFEST_COLUMNS = ("file", "region", "doc_type", "period", "year", "title")
UNSUPPORTED_FORMAT = "unsupported format; save as docx/pdf/txt/html"
_YEAR = r"^((?:19|20)\d{2})(?:\.0+)?(?:年|年度)?$"


def doc_id_of(raw: bytes) -> str:
    """Content hash: the same bytes are the same document wherever the file lives."""
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_year(text: pl.Expr) -> pl.Expr:
    """2021, 2021年, ２０２１, 2021.0 -> 2021; anything else -> null."""
    return text.str.normalize("NFKC").str.replace_all(r"\s", "").str.extract(_YEAR, 1).cast(pl.Int32)


def read_manifest(path: Path) -> pl.DataFrame:
    """The manifest as written: strings, cells trimmed (empty -> null), ``row`` = its line in the file
    (line 1 is the header); no rows when there is no manifest. Raises UnreadableDocument or a polars
    error when the file cannot be read as CSV."""
    if not path.exists():
        return pl.DataFrame(schema={"row": pl.UInt32, **{c: pl.String for c in MANIFEST_COLUMNS}})
    frame = read_analyst_csv(path)
    return (
        frame.with_columns(pl.lit(None, pl.String).alias(c) for c in MANIFEST_COLUMNS if c not in frame.columns)
        .select(pl.col(c).str.strip_chars().replace("", None) for c in MANIFEST_COLUMNS)
        .with_row_index("row", offset=2)
    )


def manifest_entries(manifest: pl.DataFrame, source_file: str, present: list[str]) -> StageResult:
    """One entry per listed file (MANIFEST_COLUMNS, ``year`` parsed, ``row``), and the refused rows and
    fields (see the module docstring). ``present``: the file names in plans/."""
    frame = manifest.with_columns(
        parse_year(pl.col("year")).alias("_year"),
        pl.col("doc_type").is_in(DOC_TYPES).alias("_type_ok"),
        pl.col("period").is_in(list(PERIODS)).alias("_period_ok"),
        (pl.int_range(pl.len()).over("file") == pl.len().over("file") - 1).alias("_last"),
        pl.col("row").max().over("file").alias("_last_row"),
    )
    listed = pl.col("file").is_not_null()
    used = listed & pl.col("_last") & pl.col("file").is_in(present)
    problems = [
        (~listed, pl.lit("no file name: fill in the file column or delete the row")),
        (listed & ~pl.col("_last"),
         pl.format("{} is listed again on row {}; that later row is used, delete this one", "file", "_last_row")),
        (listed & pl.col("_last") & ~pl.col("file").is_in(present),
         pl.format("{} is not in plans/: check the file name (with its extension) or delete the row", "file")),
        (used & pl.col("year").is_not_null() & pl.col("_year").is_null(),
         pl.format("year '{}' is not a year (write 2021 or 2021年); the document is read without a year", "year")),
        (used & pl.col("doc_type").is_not_null() & ~pl.col("_type_ok"),
         pl.format("doc_type '{}' is not one of {}; the document is read without a type", "doc_type",
                   pl.lit(", ".join(DOC_TYPES)))),
        (used & pl.col("period").is_not_null() & ~pl.col("_period_ok"),
         pl.format("period '{}' is not one of {}; the document is read without a period", "period",
                   pl.lit(", ".join(PERIODS)))),
    ]
    raw = pl.concat_str([pl.col(c) for c in MANIFEST_COLUMNS], separator=",", ignore_nulls=True)
    rejected = (
        pl.concat([frame.filter(failed).select("row", reason.alias("reason"), raw.alias("raw"))
                   for failed, reason in problems])
        .sort("row", maintain_order=True)
        .select(pl.lit(source_file).alias("source_file"), pl.format("row {}", "row").alias("location"),
                pl.lit("read").alias("stage"), "reason", "raw")
    )
    entries = frame.filter(used).select(
        "row", "file", "region",
        pl.when(pl.col("_type_ok")).then("doc_type").alias("doc_type"),
        pl.when(pl.col("_period_ok")).then("period").alias("period"),
        pl.col("_year").alias("year"), "title",
    )
    return StageResult(entries, rejected)


def _manifest_by_file(manifest_path: Path, present: list[str]) -> tuple[dict[str, dict], pl.DataFrame]:
    """The manifest's entries by file name, and what was refused (the whole file when it cannot be read)."""
    try:
        result = manifest_entries(read_manifest(manifest_path), manifest_path.name, present)
    except (UnreadableDocument, pl.exceptions.PolarsError) as exc:
        return {}, rejected_frame([{
            "source_file": manifest_path.name, "location": "whole file", "stage": "read", "raw": None,
            "reason": f"the manifest cannot be read as CSV ({str(exc).splitlines()[0][:200]}); every document "
                      "is identified from its text until it is fixed"}])
    return {row["file"]: row for row in result.rows.iter_rows(named=True)}, result.rejected


def guess_identity(text: str, regions: pl.DataFrame) -> dict:
    """Region, type, period and year from the first lines, for documents the manifest does not list.
    The region is the longest region name the lines contain (南京市鼓楼区 before 南京市)."""
    head = "\n".join(text.split("\n")[:40])
    found = (
        region_spellings(regions)
        .filter(pl.lit(head).str.contains(pl.col("name"), literal=True))
        .sort(pl.col("name").str.len_chars(), descending=True, maintain_order=True)
    )
    period = next((p for p in PERIODS if p in head), None)
    if "政府工作报告" in head:
        doc_type = "work_report"
    elif "统计公报" in head:
        doc_type = "bulletin"
    elif "实施方案" in head:
        doc_type = "implementation_plan"
    elif "规划纲要" in head or "五年规划" in head:
        doc_type = "five_year_plan"
    elif "规划" in head:
        doc_type = "special_plan"
    else:
        doc_type = None
    year = re.search(r"(20\d\d)年", head)
    return {"region": found["name"][0] if found.height else None, "doc_type": doc_type, "period": period,
            "year": int(year.group(1)) if year else None}


def document_identity(path: Path, text: str, regions: pl.DataFrame,
                      manifest: dict[str, dict] | None = None) -> dict:
    """Region, type, period and year of one document: its manifest entry if listed (``manifest_entries``),
    else guessed from the text. Without a manifest given, the manifest.csv beside the file is read."""
    if manifest is None:
        manifest, _refused = _manifest_by_file(path.parent / "manifest.csv", [path.name])
    return _identity(manifest.get(path.name) or guess_identity(text, regions))


def _identity(meta: dict) -> dict:
    period = meta.get("period")
    start, end = PERIODS.get(period, (None, None))
    return {
        "region_name": meta.get("region"),
        "doc_type": meta.get("doc_type"),
        "period": period,
        "period_start": start,
        "period_end": end,
        "year": meta.get("year"),
        "title": meta.get("title"),
    }


# --- the document index: what reading each file gave, to skip unchanged files -------------------

INDEX_SCHEMA = {
    "file": pl.String, "size_bytes": pl.Int64, "mtime_ns": pl.Int64, "ctime_ns": pl.Int64, "inode": pl.Int64,
    "doc_id": pl.String, "encoding": pl.String, "format": pl.String, "n_lines": pl.Int32,
    "guessed": pl.Boolean,  # whether the guess_identity fields are filled (only for files read unlisted)
    "region": pl.String, "doc_type": pl.String, "period": pl.String, "year": pl.Int32,
}
INDEX_KEY = "index"


@dataclass
class DocumentIndex:
    """Last run's reading of every document, valid for one version of the reading code and regions."""

    cache: ParquetCache

    @classmethod
    def at(cls, root: Path, regions: pl.DataFrame) -> DocumentIndex:
        digest = code_digest(__name__, "document index 2")  # guess_identity reads the region names too
        digest.update(regions.write_csv().encode())
        return cls(ParquetCache(root, digest.hexdigest()[:16]))

    def entries(self) -> dict[str, dict]:
        path = self.cache.path(INDEX_KEY)
        if not path.exists():
            return {}
        return {row["file"]: row for row in read_parquet_paths(path).iter_rows(named=True)}

    def save(self, entries: list[dict]) -> None:
        self.cache.store(INDEX_KEY, pl.DataFrame(entries, schema=INDEX_SCHEMA))
        self.cache.prune({INDEX_KEY})


def _unchanged(entry: dict | None, stat: os.stat_result) -> bool:
    # ctime too: a program can set a file's mtime back after editing it (touch -r, cp -p), not its ctime.
    return entry is not None and (entry["size_bytes"], entry["mtime_ns"], entry["ctime_ns"], entry["inode"]) == (
        stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _decoded(path: Path) -> tuple[DecodedDocument, str, int]:
    """One file decoded, with the content hash and size of the very bytes decoded (read once)."""
    raw = path.read_bytes()
    return read_document(path, raw), doc_id_of(raw), len(raw)


def _read_entry(path: Path, stat: os.stat_result, listed: bool, regions: pl.DataFrame) -> tuple[dict, str]:
    """Read one file: its index entry and its text (raises UnreadableDocument, OSError, ValueError)."""
    doc, doc_id, size = _decoded(path)
    guess = {} if listed else guess_identity(doc.text, regions)
    entry = {"file": path.name, "size_bytes": size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
             "inode": stat.st_ino, "doc_id": doc_id, "encoding": doc.encoding, "format": doc.format,
             "n_lines": len(doc.lines), "guessed": not listed, **guess}
    return entry, doc.text


def reread_text(plans_dir: Path, doc: dict) -> tuple[str, bool]:
    """The text of a document the index let plan_documents skip, and whether its bytes are still the
    ones ``doc_id`` names (False: the file changed during the run; the next run reads it again)."""
    decoded, doc_id, _size = _decoded(plans_dir / doc["file"])
    return decoded.text, doc_id == doc["doc_id"]


def _plan_files(plans_dir: Path, manifest_path: Path) -> tuple[list[Path], pl.DataFrame]:
    """The documents under plans/ in name order, and the entries refused as not readable documents."""
    if not plans_dir.exists():
        return [], empty_rejected()
    entries = sorted(p for p in plans_dir.iterdir()
                     if p != manifest_path and is_input_file(Path(p.name)))
    refused = [{"source_file": p.name, "location": "whole file", "stage": "read", "raw": None,
                "reason": "a folder: documents are read from plans/ itself, not from its subfolders" if p.is_dir()
                else f"{p.suffix or 'no extension'}: {UNSUPPORTED_FORMAT}"}
               for p in entries if p.is_dir() or p.suffix.lower() not in SUPPORTED_SUFFIXES]
    documents = [p for p in entries if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES]
    return documents, rejected_frame(refused)


def load_documents(plans_dir: Path, manifest_path: Path, regions: pl.DataFrame,
                   index: DocumentIndex | None = None) -> StageResult:
    """Every document under ``plans_dir`` as a row of DOCUMENT_SCHEMA, and the refused files and manifest rows.
    With an ``index``, files unchanged since the last run are not read (``text`` null; module docstring)."""
    files, refused_files = _plan_files(plans_dir, manifest_path)
    present = [p.name for p in plans_dir.iterdir()] if plans_dir.exists() else []
    manifest, refused_manifest = _manifest_by_file(manifest_path, present)
    previous = index.entries() if index is not None else {}
    rows, unreadable, entries = [], [], []
    for path in files:
        listed = manifest.get(path.name)
        try:
            stat = path.stat()
            entry, text = previous.get(path.name), None
            # A skipped file needs its guessed identity when the manifest does not list it (any more).
            if not (_unchanged(entry, stat) and (listed or entry["guessed"])):
                entry, text = _read_entry(path, stat, listed is not None, regions)
        except (UnreadableDocument, OSError, ValueError) as exc:
            unreadable.append({"source_file": path.name, "location": "whole file", "stage": "read",
                               "reason": str(exc), "raw": None})
            continue
        entries.append(entry)
        rows.append({
            "doc_id": entry["doc_id"],
            "file": path.name,
            **_identity(listed or entry),
            "encoding": entry["encoding"],
            "format": entry["format"],
            "n_lines": entry["n_lines"],
            "size_bytes": entry["size_bytes"],
            "text": text,
            "identified_by": f"{manifest_path.name} row {listed['row']}" if listed else "the document's first lines",
        })
    if index is not None:
        index.save(entries)
    frame = pl.DataFrame(rows, schema={**DOCUMENT_SCHEMA, "identified_by": pl.String}).pipe(
        resolve_region, "region_name", regions)
    unresolved = frame.filter(pl.col("region_name").is_not_null() & pl.col("region_code").is_null()).select(
        pl.col("file").alias("source_file"), pl.col("identified_by").alias("location"), pl.lit("read").alias("stage"),
        pl.format("{}; the document is read but its figures cannot be tied to a region code",
                  pl.coalesce("region_ambiguity", pl.format("region '{}' is not in reference/regions.csv",
                                                            "region_name"))).alias("reason"),
        pl.col("region_name").alias("raw"),
    )
    rejected = pl.concat([refused_files, refused_manifest, rejected_frame(unreadable), unresolved.cast(REJECTED_SCHEMA)])
    return StageResult(frame.select(list(DOCUMENT_SCHEMA)), rejected)
