"""The Dagster code location (`make ui`): every stage as assets and checks, one job, a schedule."""

from connectors.settings import get_settings
from pipelines.build import build_definitions

defs = build_definitions(get_settings())
