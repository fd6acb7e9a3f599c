"""What every stage hands to the next: the rows it produced and the rows it refused.

Nothing is dropped silently: a stage that cannot use an input row puts it in
``rejected`` with the file, the location and a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

REJECTED_SCHEMA = {
    "source_file": pl.String,
    "location": pl.String,  # "sheet 2019, row 14" / "line 37"
    "stage": pl.String,  # read / normalize / extract / validate:<check>
    "reason": pl.String,
    "raw": pl.String,
}


def empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def rejected_frame(records: list[dict]) -> pl.DataFrame:
    """Rejected rows from a list of dicts with the REJECTED_SCHEMA keys."""
    if not records:
        return empty_rejected()
    return pl.DataFrame(records, schema=REJECTED_SCHEMA)


@dataclass
class StageResult:
    rows: pl.DataFrame
    rejected: pl.DataFrame = field(default_factory=empty_rejected)

    def __post_init__(self) -> None:
        self.rejected = self.rejected.select(list(REJECTED_SCHEMA)).cast(REJECTED_SCHEMA)
