"""Resources: where the inputs and the warehouse live, and how mail goes out.

Every setting comes from the environment variables of DESIGN.md through ``dg.EnvVar``
(resolved at launch, never logged); unset variables fall back to the defaults.
"""


import os

import dagster as dg

from pipelines.config import Paths
from pipelines.lib.warehouse import Warehouse


class PlanwatchResource(dg.ConfigurableResource):
    """Input folder (PLANWATCH_RAW_DIR) and warehouse folder (PLANWATCH_WAREHOUSE_DIR)."""

    raw_dir: str
    warehouse_dir: str

    @property
    def paths(self) -> Paths:
        return Paths.from_dirs(self.raw_dir, self.warehouse_dir)

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.paths.warehouse_dir)


def env_or(name: str, default: str | None):
    """``dg.EnvVar(name)`` when the variable is set, so Dagster resolves it at launch; else ``default``."""
    return dg.EnvVar(name) if os.environ.get(name) else default


@dg.definitions
def resources() -> dg.Definitions:
    paths = Paths.from_env()
    return dg.Definitions(
        resources={
            "planwatch": PlanwatchResource(
                raw_dir=env_or("PLANWATCH_RAW_DIR", str(paths.raw_dir)),
                warehouse_dir=env_or("PLANWATCH_WAREHOUSE_DIR", str(paths.warehouse_dir)),
            ),
        }
    )
