"""Read yearly statistics files (csv, xlsx; long or yearbook-wide) into raw long rows.

(Skeleton: issue 4 implements every layout.)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.lib.stage import StageResult

RAW_STAT_SCHEMA = {
    "source_file": pl.String,
    "location": pl.String,  # "row 12" / "sheet 张家港, row 7, column 2019"
    "region_text": pl.String,
    "indicator_text": pl.String,
    "indicator_key": pl.String,  # when the file names the key itself
    "year": pl.String,
    "value_raw": pl.String,
    "unit": pl.String,
    "source": pl.String,  # title of the publication the figure came from
    "source_url": pl.String,
    "quote": pl.String,
}


def read_statistics(statistics_dir: Path) -> StageResult:
    return StageResult(pl.DataFrame(schema=RAW_STAT_SCHEMA))
