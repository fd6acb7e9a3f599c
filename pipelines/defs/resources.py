"""Resources: where the inputs and the warehouse live, and how mail goes out.

Every setting comes from the environment variables of DESIGN.md through ``dg.EnvVar``
(resolved at launch, never logged); unset variables fall back to the defaults.
"""


import os

import dagster as dg

from pipelines.config import Paths
from pipelines.lib.mail import MailSettings
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


class MailResource(dg.ConfigurableResource):
    """SMTP server and sender (PLANWATCH_SMTP_HOST/_PORT/_SECURITY/_USER/_PASSWORD, PLANWATCH_MAIL_FROM).

    No host: the emails are written as .eml files to the outbox folder. The password is read
    only to log in; ``describe()`` (logs, metadata) never shows it."""

    host: str = ""
    port: str = ""
    security: str = "none"
    user: str = ""
    password: str = ""
    mail_from: str = ""

    @property
    def settings(self) -> MailSettings:
        return MailSettings.from_values(self.host, self.port, self.security, self.user, self.password,
                                        self.mail_from)


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
            "mail": MailResource(
                host=env_or("PLANWATCH_SMTP_HOST", ""),
                port=env_or("PLANWATCH_SMTP_PORT", ""),
                security=env_or("PLANWATCH_SMTP_SECURITY", "none"),
                user=env_or("PLANWATCH_SMTP_USER", ""),
                password=env_or("PLANWATCH_SMTP_PASSWORD", ""),
                mail_from=env_or("PLANWATCH_MAIL_FROM", ""),
            ),
        }
    )
