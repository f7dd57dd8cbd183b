"""The Dagster code location (`make ui`): every stage as assets and checks, one job, a schedule.

Built when Dagster loads the location, not when this module is imported: building writes
the dbt profile for the configured warehouse and reads mdm.yaml, which an import (a test, a
tool listing modules) must not do."""

import dagster as dg

from connectors.settings import get_settings
from pipelines.build import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(get_settings())
