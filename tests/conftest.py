"""Shared fixtures: every test that runs the pipeline gets its own copy of the embedded
default data and its own warehouse folder, through the same environment variables an
operator would set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = REPO_ROOT / "data" / "raw"
GOLD_DIR = REPO_ROOT / "tests" / "fixtures" / "gold"


@pytest.fixture(autouse=True)
def verified_memos(monkeypatch):
    """Every memoized stage (lib/memo.py) also computes from scratch and fails on any difference, so a run
    on warm memos is checked against a cold one in every test that runs the pipeline twice."""
    monkeypatch.setenv("PLANWATCH_MEMO_VERIFY", "1")


@pytest.fixture
def planwatch_env(tmp_path, monkeypatch):
    """A tmp copy of data/raw and an empty warehouse folder, wired through PLANWATCH_* variables."""
    raw = tmp_path / "raw"
    shutil.copytree(DEFAULT_RAW, raw)
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    monkeypatch.setenv("PLANWATCH_RAW_DIR", str(raw))
    monkeypatch.setenv("PLANWATCH_WAREHOUSE_DIR", str(warehouse))
    for name in ("PLANWATCH_SMTP_HOST", "PLANWATCH_SMTP_PORT", "PLANWATCH_SMTP_USER", "PLANWATCH_SMTP_PASSWORD",
                 "PLANWATCH_SMTP_SECURITY", "PLANWATCH_MAIL_FROM", "DAGSTER_HOME",
                 "PLANWATCH_FACTS_CACHE_DIR", "PLANWATCH_EXECUTOR", "PLANWATCH_EXTRACT_CHUNKS", "PLANWATCH_MAX_CONCURRENT"):
        monkeypatch.delenv(name, raising=False)
    return {"raw": raw, "warehouse": warehouse}
