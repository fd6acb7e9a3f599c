"""Extraction measured against the hand labels of the five seed documents (issue 3's floors).

Runs ``planwatch score-extraction`` over every seed (prose and flattened tables together) so that a
later change cannot quietly lower recall, precision or the agreement of the labelled fields.
"""

import contextlib
import io
import json
from pathlib import Path

import pytest

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "fixtures" / "gold"
FLOORS = {"recall": 0.90, "precision": 0.90, "indicator_key": 0.85, "kind": 0.90, "year": 0.90,
          "comparator": 0.90}


@pytest.fixture(scope="module")
def scores() -> dict[str, dict]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["score-extraction", "--gold", str(GOLD), "--format", "json"]) == 0
    return {row["doc"]: row for row in json.loads(buffer.getvalue())}


def test_every_seed_is_scored(scores):
    seeds = {p.name for p in (ROOT / "data" / "raw" / "plans").glob("*.txt")}
    assert seeds <= set(scores) and len(seeds) == 5
    assert scores["ALL"]["gold"] == sum(scores[s]["gold"] for s in seeds)


@pytest.mark.parametrize("measure", list(FLOORS))
def test_overall_floor(scores, measure):
    overall = scores["ALL"]
    assert overall[measure] >= FLOORS[measure], (
        f"{measure} {overall[measure]:.3f} is below {FLOORS[measure]} "
        f"(matched {overall['matched']} of {overall['gold']} gold, {overall['predicted']} predicted)")
