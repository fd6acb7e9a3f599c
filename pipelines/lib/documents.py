"""The plan_documents stage: read every document under plans/, decode it, and identify
its region, type and period from the analyst's manifest (or, failing that, from the text)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl

from pipelines.lib.reading import SUPPORTED_SUFFIXES, UnreadableDocument, read_document
from pipelines.lib.reference import PERIODS, region_names
from pipelines.lib.stage import StageResult, rejected_frame

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


def doc_id_of(raw: bytes) -> str:
    """Content hash: the same bytes are the same document wherever the file lives."""
    return hashlib.sha256(raw).hexdigest()[:16]


def read_manifest(path: Path) -> pl.DataFrame:
    if not path.exists():
        return pl.DataFrame(schema={c: pl.String for c in MANIFEST_COLUMNS})
    frame = pl.read_csv(path, infer_schema=False)
    for column in MANIFEST_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    return frame.select(MANIFEST_COLUMNS)


def guess_identity(text: str, regions: pl.DataFrame) -> dict:
    """Region, type, period and year from the first lines, for documents the manifest does not list."""
    head = "\n".join(text.split("\n")[:40])
    names = region_names(regions).sort(pl.col("name").str.len_chars(), descending=True)
    region = next((n for n in names["name"].to_list() if n in head), None)
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
    return {"region": region, "doc_type": doc_type, "period": period, "year": year.group(1) if year else None}


def document_identity(path: Path, text: str, regions: pl.DataFrame,
                      manifest: dict[str, dict] | None = None) -> dict:
    """Region, type, period and year of one document: its manifest row if listed, else guessed from the text.
    Without a manifest given, the manifest.csv beside the file is read."""
    if manifest is None:
        manifest = {row["file"]: row for row in read_manifest(path.parent / "manifest.csv").iter_rows(named=True)}
    meta = manifest.get(path.name) or guess_identity(text, regions)
    period = meta.get("period") or None
    start, end = PERIODS.get(period, (None, None))
    return {
        "region_name": meta.get("region") or None,
        "doc_type": meta.get("doc_type") or None,
        "period": period,
        "period_start": start,
        "period_end": end,
        "year": int(meta["year"]) if meta.get("year") else None,
        "title": meta.get("title") or None,
    }


def load_documents(plans_dir: Path, manifest_path: Path, regions: pl.DataFrame) -> StageResult:
    manifest = {row["file"]: row for row in read_manifest(manifest_path).iter_rows(named=True)}
    names = region_names(regions)
    codes = dict(zip(names["name"], names["region_code"], strict=True))
    rows, rejected = [], []
    files = sorted(p for p in plans_dir.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES) if plans_dir.exists() else []
    for path in files:
        try:
            doc = read_document(path)
        except (UnreadableDocument, OSError, ValueError) as exc:
            rejected.append({"source_file": path.name, "location": "whole file", "stage": "read",
                             "reason": str(exc), "raw": None})
            continue
        identity = document_identity(path, doc.text, regions, manifest)
        region = identity["region_name"]
        if region and region not in codes:
            rejected.append({"source_file": path.name, "location": "manifest", "stage": "read",
                             "reason": f"region {region!r} is not in reference/regions.csv; the document is "
                                       "read but its figures cannot be tied to a region code",
                             "raw": region})
        rows.append({
            "doc_id": doc_id_of(path.read_bytes()),
            "file": path.name,
            "region_code": codes.get(region),
            **identity,
            "encoding": doc.encoding,
            "format": doc.format,
            "n_lines": len(doc.lines),
            "text": doc.text,
        })
    return StageResult(pl.DataFrame(rows, schema=DOCUMENT_SCHEMA), rejected_frame(rejected))
