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
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl

from pipelines.lib.raw_files import is_input_file
from pipelines.lib.reading import SUPPORTED_SUFFIXES, UnreadableDocument, read_analyst_csv, read_document
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
    "text": pl.String,
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
    meta = manifest.get(path.name) or guess_identity(text, regions)
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


def load_documents(plans_dir: Path, manifest_path: Path, regions: pl.DataFrame) -> StageResult:
    files, refused_files = _plan_files(plans_dir, manifest_path)
    present = [p.name for p in plans_dir.iterdir()] if plans_dir.exists() else []
    manifest, refused_manifest = _manifest_by_file(manifest_path, present)
    rows, unreadable = [], []
    for path in files:
        try:
            doc = read_document(path)
        except (UnreadableDocument, OSError, ValueError) as exc:
            unreadable.append({"source_file": path.name, "location": "whole file", "stage": "read",
                               "reason": str(exc), "raw": None})
            continue
        listed = manifest.get(path.name)
        rows.append({
            "doc_id": doc_id_of(path.read_bytes()),
            "file": path.name,
            **document_identity(path, doc.text, regions, manifest),
            "encoding": doc.encoding,
            "format": doc.format,
            "n_lines": len(doc.lines),
            "text": doc.text,
            "identified_by": f"{manifest_path.name} row {listed['row']}" if listed else "the document's first lines",
        })
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
