"""The Dagster code location: every module under pipelines/defs, run in one process.

One process per run keeps a single DuckDB writer (see lib/warehouse.py). PLANWATCH_EXECUTOR=multiprocess
runs steps in parallel processes instead (the extraction chunks fan out; the DuckDB steps stay one
after another, and one at a time in the "duckdb" pool): see lib/fanout.py and benchmarks/README.md.
"""

from pathlib import Path

import dagster as dg

from pipelines.lib.fanout import fan_out

DEFS_DIR = Path(__file__).parent / "defs"


def executor() -> dg.ExecutorDefinition:
    choice = fan_out()
    if choice.executor == "multiprocess":
        # forkserver with the code location preloaded: a step process starts without re-importing it.
        preload = ["pipelines.definitions", *(f"pipelines.defs.{p.stem}" for p in sorted(DEFS_DIR.glob("*.py")))]
        return dg.multiprocess_executor.configured({
            "max_concurrent": choice.max_concurrent,
            "start_method": {"forkserver": {"preload_modules": preload}},
        })
    return dg.in_process_executor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=executor()),
    )
