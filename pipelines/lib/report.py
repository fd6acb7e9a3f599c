"""The evaluation report: a static HTML page and one .xlsx table per region (skeleton: issue 8)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def build_report(con: duckdb.DuckDBPyConnection, reports_dir: Path, *, run_id: str) -> dict[str, Path]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    page = reports_dir / "index.html"
    page.write_text("<!doctype html><meta charset='utf-8'><title>Planwatch 评估报告</title><h1>Planwatch 评估报告</h1>",
                    encoding="utf-8")
    return {"html": page}
