"""The I/O manager that hands step outputs from one step to the next.

Dagster's filesystem I/O manager, with polars frames stored as Parquet beside the pickle instead of inside
it (lib/frame_store.py: 570 MB and 2.6 s become 21 MB and 0.4 s for the national observation table, which
four steps load). Where the files go: PLANWATCH_STEP_STORAGE_DIR when set (a deployment on several machines
points it at storage every worker mounts: benchmarks/README.md), else the instance's storage folder, as
with Dagster's filesystem I/O manager.
"""

from typing import Any

import dagster as dg
from upath import UPath

from pipelines.defs.resources import env_or
from pipelines.lib import frame_store


class FrameFilesystemIOManager(dg.UPathIOManager):
    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        frame_store.dump(obj, path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return frame_store.load(path)


class FrameIOManager(dg.ConfigurableIOManagerFactory):
    """Step outputs as pickles with their polars frames in Parquet, under ``base_dir`` (default: the
    instance's storage folder)."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> FrameFilesystemIOManager:
        return FrameFilesystemIOManager(base_path=UPath(self.base_dir or context.instance.storage_directory()))


@dg.definitions
def storage() -> dg.Definitions:
    return dg.Definitions(resources={"io_manager": FrameIOManager(base_dir=env_or("PLANWATCH_STEP_STORAGE_DIR", None))})
