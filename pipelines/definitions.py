"""The Dagster code location: every module under pipelines/defs, run in one process.

One process per run keeps a single DuckDB writer (see lib/warehouse.py).
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=dg.in_process_executor),
    )
