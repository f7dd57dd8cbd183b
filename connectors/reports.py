"""The reports folder: the auditor's HTML report of each run and the GX Data Docs site.

`write_report` swaps a rendered report (`quality.report.render`) in as `dq-<run_id>.html` and
`latest.html`; `export_report` writes a run's report tables (`quality.export.report_tables`)
as CSV or XLSX. `DataDocs` keeps the Great Expectations Data Docs of every run, under
`<home>/reports/gx/`.

The checks validate with ephemeral GX contexts (fast, nothing on disk). Their (masked)
validation results are then stored in a *file-backed* GX context under
`<home>/reports/gx_context/`: a site built from an ephemeral context lists only that context's
results and removes every other page from the site, so one persistent store is what lets the
Data Docs hold all checks of all runs. `build_run` renders a run's pages on demand; the report
does not link them, because GX's pages load Bootstrap, jQuery and Vega from CDNs (unstyled and
half-working on a bank's offline machines): the report and the console show the same failing
rows, masked, from `dq.failing_rows` (`quality.report.failing_rows`).
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, get_args
from urllib.parse import unquote, urlparse

import pandas as pd

logger = logging.getLogger(__name__)

SITE_NAME = "mdm_quality"
VALIDATION_RESULTS_KEPT = 500  # index entries; older pages stay on disk


def report_path(reports_dir: Path, run_id: str) -> Path:
    return Path(reports_dir) / f"dq-{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.html"


def write_report(reports_dir: Path, run_id: str, html: str) -> Path:
    """Swap `html` in as the run's report and as `latest.html`; returns the run's path."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    target = report_path(reports_dir, run_id)
    for path in (target, reports_dir / "latest.html"):
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(html, encoding="utf-8")
        os.replace(temporary, path)
    return target


class Validation(Protocol):
    """What the Data Docs keep of one validation (`quality.suites.SuiteRun` is one)."""

    suite: str
    batch: str
    gx_result: Any


@dataclass(frozen=True)
class DocsPage:
    suite: str  # `raw.core`, `standardized.crm`, `golden.all`
    batch: str  # the table validated
    path: Path  # the HTML page


class DataDocs:
    """The file-backed GX store and Data Docs site of one reports folder."""

    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = Path(reports_dir)
        self.context_dir = self.reports_dir / "gx_context"
        self.site_dir = self.reports_dir / "gx"

    @property
    def index(self) -> Path:
        return self.site_dir / "index.html"

    def _context(self) -> Any:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(self.context_dir))
        sites = context.get_site_names()
        if SITE_NAME not in sites:
            for name in sites:  # the default site under uncommitted/: not ours
                context.delete_data_docs_site(name)
            context.add_data_docs_site(
                SITE_NAME,
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.site_dir.resolve()),
                    },
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "show_cta_footer": False,
                        "validation_results_limit": VALIDATION_RESULTS_KEPT,
                    },
                },
            )
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.variables.save()
            context.enable_analytics(False)  # a bank's quality results send nothing home
        return context

    def store(self, runs: Iterable[Validation], *, run_id: str, run_time: datetime) -> int:
        """Keep the validation results of `runs` (already masked); returns how many."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        context = self._context()
        identifier = RunIdentifier(run_name=run_id, run_time=run_time)
        stored = 0
        for run in runs:
            if run.gx_result is None:
                continue
            run.gx_result.meta["run_id"] = identifier
            run.gx_result.meta["validation_time"] = run_time
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=run.suite),
                run_id=identifier,
                batch_identifier=run.batch,
            )
            context.validation_results_store.set(key, run.gx_result)
            stored += 1
        return stored

    def build_run(self, run_id: str) -> list[DocsPage]:
        """Render the pages of one run's validations and the site index; the pages built."""
        if not (self.context_dir / "gx").exists():
            return []
        context = self._context()
        keys = [
            key
            for key in context.validation_results_store.list_keys()
            if key.run_id.run_name == run_id
        ]
        if not keys:
            return []
        context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=keys)
        pages = []
        for key in keys:
            urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
            url = urls[0]["site_url"] if urls else None
            if not url:
                continue
            pages.append(
                DocsPage(
                    key.expectation_suite_identifier.name,
                    str(key.batch_identifier),
                    Path(unquote(urlparse(url).path)),
                )
            )
        return sorted(pages, key=lambda page: (page.suite, page.batch))


ExportFormat = Literal["csv", "xlsx"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
# A cell starting with one of these is a formula to Excel: an exported value must stay text
# (OWASP "CSV injection"), whoever typed it into a source system or a comment.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    def defuse(value: object) -> object:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    # Object cells stay as they are through the concat of sections: ints do not become floats.
    return frame.map(defuse).astype(object)


def export_bytes(tables: Mapping[str, pd.DataFrame], fmt: str) -> bytes:
    """A run's report tables (`quality.export.report_tables`) as one file's bytes.

    `xlsx`: a sheet per table. `csv`: one UTF-8 file (with a BOM, so Excel reads Chinese
    text) whose first column names the section (run, rules, failing_rows, signoffs) and whose
    header is the union of the sections' columns.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    cleaned = {name: _as_text_cells(frame) for name, frame in tables.items()}
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            for name, frame in cleaned.items():
                frame.to_excel(writer, sheet_name=name[:31], index=False)
        return buffer.getvalue()
    combined = pd.concat(
        [frame.assign(section=name) for name, frame in cleaned.items()], ignore_index=True
    )
    combined = combined[["section", *[c for c in combined.columns if c != "section"]]]
    return combined.to_csv(index=False).encode("utf-8-sig")


def export_report(tables: Mapping[str, pd.DataFrame], fmt: str, out: Path) -> Path:
    """Write `export_bytes` to `out` (swapped in whole, so a reader never sees half a file)."""
    out = Path(out)
    data = export_bytes(tables, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, out)
    return out
