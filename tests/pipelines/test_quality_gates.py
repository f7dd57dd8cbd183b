"""Deliberately broken sources are caught by the named quality rule, on the real asset graph.

One warehouse, three runs of the full-run job on a 400-person simulation:

1. the baseline: core banking states birth dates in the future, birth dates and genders that
   disagree with the resident ID. These are warnings: the run completes, its report lists
   them and every other rule passes. Its golden records, xref and serving snapshot are the
   baseline.
2. the CRM export loses its mobile column, has names garbled (UTF-8 read as GBK upstream) and
   repeated customer keys: three blocking raw rules fail, the run stops before
   standardization, the golden records and the serving snapshot are unchanged;
3. the CRM export is written as UTF-8 while mdm.yaml says GBK: the extract fails with an error
   naming the file, nothing downstream runs, the golden records are unchanged.

dbt is left out of these runs (the marts are not what they are about, and dbt's start-up
would double their time); that dbt, and so `marts.dq_scorecard`, runs after the golden checks
of the same run is proved on the job's graph.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from connectors.extract import read_source_table
from connectors.landing import with_lineage, write_batch
from connectors.reports import report_path
from connectors.settings import Settings
from connectors.source_counts import SOURCE_ROW_COUNT, count_source_rows
from connectors.tables import GOLDEN_RECORDS, PARTY_RECORDS, QUARANTINE, XREF, raw_table
from connectors.warehouse import Warehouse, open_warehouse
from pipelines.assets.extract import raw_asset_key
from pipelines.assets.report import REPORT, build_report, build_report_asset
from pipelines.build import FULL_RUN_JOB, build_definitions
from pipelines.checks import build_raw_checks, owned_tables, quality_run_config
from pipelines.mdm_config import load_config
from pipelines.resources import StorePathsResource, WarehouseResource
from quality.stages import check_golden, check_owned_rows, check_raw, check_standardized
from quality.suites import suite_results_frame
from tests.conftest import write_pipeline_config
from tests.pii import find_unmasked

pytestmark = pytest.mark.slow

PEOPLE = 400
SEED = 11
AS_OF = date(2026, 11, 28)


@dataclass
class Pipeline:
    root: Path
    settings: Settings
    instance: dg.DagsterInstance

    @property
    def store(self) -> Warehouse:
        return open_warehouse(self.settings.resolved_warehouse_url)

    def definitions(self, sources: Path, name: str) -> dg.Definitions:
        """The project's definitions on `sources`, with the report asset."""
        config_path = write_pipeline_config(sources, self.root / f"{name}.yaml")
        settings = self.settings.model_copy(update={"config_path": config_path})
        definitions = build_definitions(settings)
        keys = set(definitions.resolve_all_asset_keys())
        if REPORT not in keys:  # until pipelines/build.py wires the report in
            upstream = [k for k in keys if k.path[0] in {"mdm", "marts", "staging"}]
            report = build_report_asset(upstream, load_config(config_path))
            definitions = dg.Definitions.merge(definitions, dg.Definitions(assets=[report]))
        return definitions

    def run(self, sources: Path, name: str) -> dg.ExecuteInProcessResult:
        """The full-run job on `sources`, without the dbt models, with the report."""
        definitions = self.definitions(sources, name)
        dbt_layers = {"staging", "intermediate", "marts", "dq"}  # dq/results: dbt's source
        selection = [
            k for k in definitions.resolve_all_asset_keys() if k.path[0] not in dbt_layers
        ] + [REPORT]
        config = load_config(self.root / f"{name}.yaml")
        ops: dict[str, Any] = quality_run_config(config, AS_OF.isoformat())
        return definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
            instance=self.instance,
            run_config={"ops": ops},
            asset_selection=selection,
            raise_on_error=False,
        )

    def snapshot(self) -> dict[str, pd.DataFrame]:
        store = self.store
        serving = self.settings.resolved_serving_path.stat()
        return {
            "serving": pd.DataFrame({"mtime": [serving.st_mtime_ns], "bytes": [serving.st_size]}),
            "golden": store.query("select * from mdm.golden_records order by golden_id"),
            "xref": store.query("select * from mdm.xref order by record_key"),
            "party": store.query("select record_key from mdm.party_records order by 1"),
        }

    def results(self, run_id: str) -> pd.DataFrame:
        return self.store.query("select * from dq.results where run_id = ?", [run_id])


def failed_rules(results: pd.DataFrame) -> set[tuple[str, str]]:
    failed = results[~results["passed"]]
    return set(zip(failed["rule_id"], failed["source_system"], strict=True))


def error_text(event: dg.DagsterEvent) -> str:
    """A step failure's message with the messages of its causes (the user code's error)."""
    error = event.step_failure_data.error
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    return " ← ".join(messages)


def copy_sources(clean: Path, target: Path) -> Path:
    shutil.copytree(clean, target)
    return target


def read_crm(sources: Path) -> pd.DataFrame:
    return pd.read_csv(
        sources / "crm" / "crm_customers.csv", dtype=str, encoding="gbk", keep_default_na=False
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from connectors.simulated import simulate

    root = tmp_path_factory.mktemp("quality_gates")
    simulate(root / "clean", people=PEOPLE, seed=SEED, as_of=AS_OF)
    shutil.copytree(root / "clean", root / "baseline")
    settings = Settings(home=root / "var", config_path=root / "mdm.yaml")
    with dg.instance_for_test() as instance:
        yield Pipeline(root, settings, instance)


def plant_birth_date_and_gender_defects(sources: Path) -> None:
    """6 future birth dates, 30 birth dates a day off the ID's, 30 genders against the ID, on
    core rows that agreed with their 18-digit ID, so each change is exactly one disagreement."""
    with sqlite3.connect(sources / "core_banking.sqlite") as connection:
        customers = pd.read_sql(
            "select cust_no, cert_no, birth_dt, gender_cd from cif_customer", connection
        )
        ids = customers["cert_no"].fillna("")
        parity = ids.str[16].isin(list("13579")).map({True: "1", False: "2"})
        consistent = customers[
            ids.str.fullmatch(r"\d{17}[\dX]")
            & (customers["birth_dt"] == ids.str[6:14])
            & (customers["gender_cd"] == parity)
        ]
        future = consistent["cust_no"].iloc[:6].tolist()
        shifted = consistent.iloc[6:36]
        flipped = consistent["cust_no"].iloc[36:66].tolist()
        connection.executemany(
            "update cif_customer set birth_dt = '20310101' where cust_no = ?",
            [(c,) for c in future],
        )
        connection.executemany(
            "update cif_customer set birth_dt = ? where cust_no = ?",
            [
                ((pd.Timestamp(b) + pd.Timedelta(days=1)).strftime("%Y%m%d"), c)
                for c, b in zip(shifted["cust_no"], shifted["birth_dt"], strict=True)
            ],
        )
        connection.executemany(
            "update cif_customer set gender_cd = case gender_cd when '1' then '2' else '1' end "
            "where cust_no = ?",
            [(c,) for c in flipped],
        )


@pytest.fixture(scope="module")
def baseline(pipeline: Pipeline) -> tuple[dg.ExecuteInProcessResult, dict[str, pd.DataFrame]]:
    sources = pipeline.root / "baseline"
    plant_birth_date_and_gender_defects(sources)
    result = pipeline.run(sources, "baseline")
    return result, pipeline.snapshot()


def upstream_ops(job: dg.JobDefinition, node: str) -> set[str]:
    """Every op `node` waits for, directly or through others."""
    structure = job.graph.dependency_structure
    found: set[str] = set()
    todo = [node]
    while todo:
        for outputs in structure.input_to_upstream_outputs_for_node(todo.pop()).values():
            for output in outputs:
                if output.node_name not in found:
                    found.add(output.node_name)
                    todo.append(output.node_name)
    return found


def test_each_stage_waits_for_the_checks_before_it(pipeline):
    job = pipeline.definitions(pipeline.root / "clean", "graph").resolve_job_def(FULL_RUN_JOB)
    raw_checks = {"raw_quality_core", "raw_quality_credit", "raw_quality_crm"}
    assert raw_checks <= upstream_ops(job, "standardize_party_records")
    assert "standardized_quality" in upstream_ops(job, "build_golden_records")
    # dbt runs after the golden checks: the scorecard holds every checkpoint of its run.
    assert {"golden_quality", "standardized_quality"} | raw_checks <= upstream_ops(
        job, "mdm_dbt_models"
    )
    assert {"mdm_dbt_models", "golden_quality"} <= upstream_ops(job, "dq__report")


def test_warnings_are_reported_and_do_not_stop_the_run(pipeline, baseline):
    result, snapshot = baseline
    assert result.success
    assert len(snapshot["golden"]) > 0
    results = pipeline.results(result.run_id)
    assert {"raw", "standardized", "golden"} <= set(results["stage"])
    # Every rule passes on the simulated sources but the three planted defects.
    assert failed_rules(results) == {
        ("raw.birth_date_in_range", "core"),
        ("raw.birth_date_matches_id", "core"),
        ("raw.gender_matches_id", "core"),
    }
    core = results[results["source_system"] == "core"].set_index("rule_id")
    assert core.loc["raw.birth_date_in_range", "failed"] == 6
    assert core.loc["raw.birth_date_matches_id", "failed"] == 36  # 30 shifted + 6 future
    assert core.loc["raw.gender_matches_id", "failed"] == 30
    assert "2031-01-01" in core.loc["raw.birth_date_in_range", "examples"]
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    gender = checks[("raw/core__cif_customer", "raw__gender_matches_id")]
    assert gender.severity == dg.AssetCheckSeverity.WARN and not gender.passed
    assert gender.metadata["failed"].value == 30
    assert gender.metadata["failing_share"].value > 0.05
    # The report asset ran: this run's page and latest.html list the warnings, masked.
    html = report_path(pipeline.settings.reports_dir, result.run_id).read_text(encoding="utf-8")
    assert (pipeline.settings.reports_dir / "latest.html").read_text(encoding="utf-8") == html
    assert "WARNINGS" in html
    for rule_id in (
        "raw.birth_date_in_range",
        "raw.birth_date_matches_id",
        "raw.gender_matches_id",
    ):
        assert f'id="fail-{rule_id}-core"' in html
    assert find_unmasked(html) is None


def test_the_run_judged_the_standardized_records_in_the_warehouse_as_pandas_would(
    pipeline, baseline
):
    """The standardized check ran as SQL (`quality.evaluate_in: warehouse`, the default): what
    it wrote to dq.results equals the pandas path on the very tables the run wrote."""
    result, _ = baseline
    config = load_config(pipeline.root / "baseline.yaml")
    assert config.quality.evaluate_in == "warehouse"
    store = pipeline.store
    runs = check_standardized(
        store.read_table(PARTY_RECORDS),
        store.read_table(QUARANTINE),
        list(config.sources),
        config.quality,
        AS_OF,
        {system: source.quality for system, source in config.sources.items()},
    )
    columns = ["rule_id", "source_system", "evaluated", "failed", "score", "passed"]
    expected = suite_results_frame(runs, run_id="r", checked_at=pd.Timestamp(0))[columns]
    written = pipeline.results(result.run_id)
    written = written.loc[written["stage"] == "standardized", columns]
    written = written[written["rule_id"].isin(set(expected["rule_id"]))]
    order = ["rule_id", "source_system"]
    assert len(expected) == 5 * 3 + 3  # five record rules and the quarantine rate, 3 sources
    pd.testing.assert_frame_equal(
        expected.sort_values(order).reset_index(drop=True),
        written.sort_values(order).reset_index(drop=True),
        check_dtype=False,
    )


def test_the_run_judged_the_raw_and_golden_stages_in_sql_as_pandas_would(pipeline, baseline):
    """The raw and golden checks counted their rules by SQL (`quality.evaluate_in:
    warehouse`): what they wrote to dq.results equals the GX suites on frames of the very
    tables the run wrote (the raw row counts aside: they compare with the source)."""
    result, _ = baseline
    config = load_config(pipeline.root / "baseline.yaml")
    store = pipeline.store
    runs = []
    for system, source in config.sources.items():
        party = store.read_table(raw_table(system, source.party_table))
        table = {source.party_table: party}
        rows = {source.party_table: len(party)}
        runs += check_raw(system, source, party, table, rows, config.quality, AS_OF)
    xref = store.read_table(XREF)
    golden = store.read_table(GOLDEN_RECORDS)
    truth = pd.read_parquet(config.evaluation.ground_truth, columns=["record_key", "person_id"])
    runs += check_golden(
        golden,
        xref,
        store.read_table(PARTY_RECORDS, columns=["record_key"]),
        config.quality,
        truth=truth,
    )
    active = set(golden.loc[golden["status"] == "active", "golden_id"])
    links = owned_tables(config)
    assert links  # the demo bank's accounts and loans
    for link in links:
        source = config.sources[link.system]
        owned = store.read_table(raw_table(link.system, link.table), columns=[link.column])
        owners = store.read_table(
            raw_table(link.system, source.party_table), columns=[source.key_column]
        )[source.key_column]
        runs.append(check_owned_rows(link, owned, owners, xref, active, config.quality))
    columns = ["rule_id", "source_system", "evaluated", "failed", "score", "passed"]
    expected = suite_results_frame(runs, run_id="r", checked_at=pd.Timestamp(0))[columns]
    expected = expected[expected["rule_id"] != "raw.row_count_matches_source"]
    written = pipeline.results(result.run_id)
    written = written.loc[written["stage"].isin(["raw", "golden"]), columns]
    written = written[written["rule_id"].isin(set(expected["rule_id"]))]
    order = ["rule_id", "source_system"]
    assert len(expected) == 9 * 3 + 10 + 2 * len({link.system for link in links})
    assert expected["failed"].gt(0).any()  # the planted birth-date and gender defects
    pd.testing.assert_frame_equal(
        expected.sort_values(order).reset_index(drop=True),
        written.sort_values(order).reset_index(drop=True),
        check_dtype=False,
    )


def test_broken_crm_export_is_stopped_by_blocking_raw_rules(pipeline, baseline, tmp_path):
    _, before = baseline
    sources = copy_sources(pipeline.root / "baseline", tmp_path / "broken_crm")
    crm = read_crm(sources)
    # Names whose UTF-8 bytes decode as GBK: the export tool read UTF-8 as GBK (张伟 → 寮犱紵).
    garbled = []
    for i, name in crm["姓名"][::-1].items():  # from the end: the repeated rows are the first
        try:
            crm.loc[i, "姓名"] = name.encode("utf-8").decode("gbk")
        except UnicodeDecodeError:
            continue
        garbled.append(i)
        if len(garbled) == 6:
            break
    repeated = crm.iloc[:10]  # 10 keys twice: 20 of 10 + len(crm) rows are not unique
    broken = pd.concat([crm, repeated], ignore_index=True).drop(columns=["手机"])
    broken.to_csv(sources / "crm" / "crm_customers.csv", index=False, encoding="gbk")

    result = pipeline.run(sources, "broken_crm")

    assert not result.success
    results = pipeline.results(result.run_id)
    assert {
        ("raw.mapped_columns_present", "crm"),
        ("raw.text_decoded", "crm"),
        ("raw.key_unique", "crm"),
    } <= failed_rules(results)
    crm_rows = results[results["source_system"] == "crm"].set_index("rule_id")
    assert crm_rows.loc["raw.mapped_columns_present", "examples"] == "missing column '手机'"
    assert crm_rows.loc["raw.text_decoded", "failed"] == 6
    assert crm_rows.loc["raw.key_unique", "failed"] == 20
    # Blocking: standardization never ran, nothing after it changed.
    assert "standardize_party_records" not in {e.step_key for e in result.get_step_success_events()}
    assert set(results["stage"]) == {"raw"}
    after = pipeline.snapshot()
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)
    # The report of the stopped run (as `mdm run` writes it) names the rules.
    report = build_report(pipeline.store.query, result.run_id, pipeline.settings.reports_dir)
    html = report.read_text(encoding="utf-8")
    assert "BLOCKED" in html
    for rule_id in ("raw.mapped_columns_present", "raw.text_decoded", "raw.key_unique"):
        assert f'id="fail-{rule_id}-crm"' in html
    assert find_unmasked(html) is None


def test_crm_export_in_the_wrong_encoding_fails_the_extract_naming_the_file(
    pipeline, baseline, tmp_path
):
    _, before = baseline
    sources = copy_sources(pipeline.root / "baseline", tmp_path / "utf8_crm")
    read_crm(sources).to_csv(sources / "crm" / "crm_customers.csv", index=False, encoding="utf-8")

    result = pipeline.run(sources, "utf8_crm")

    assert not result.success
    failures = {e.step_key: e for e in result.get_step_failure_events()}
    assert set(failures) == {"extract_crm"}
    message = error_text(failures["extract_crm"])
    assert "crm_customers.csv" in message and "gbk" in message
    after = pipeline.snapshot()
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)
    report = build_report(
        pipeline.store.query,
        result.run_id,
        pipeline.settings.reports_dir,
        run_errors=[f"extract_crm: {message}"],
    )
    html = report.read_text(encoding="utf-8")
    assert "crm_customers.csv" in html and "BLOCKED" in html


def test_a_row_count_the_extract_recorded_is_compared_with_the_rows_that_landed(pipeline, tmp_path):
    """The path `pipelines/assets/extract.py` takes once it records `source_row_count`: the
    landing batch, i.e. what was read, is counted against the source's own count."""
    config = load_config(write_pipeline_config(pipeline.root / "clean", tmp_path / "m.yaml"))
    source = config.sources["core"]

    @dg.multi_asset(
        name="extract_core", specs=[dg.AssetSpec(raw_asset_key("core", t)) for t in source.tables]
    )
    def extract(
        warehouse: WarehouseResource, stores: StorePathsResource
    ) -> Iterator[dg.MaterializeResult]:
        for table in source.tables:
            frame = with_lineage(read_source_table(source, table), "b1", datetime.now(UTC))
            # A reader that lost the first account on the way to landing.
            read = frame.iloc[1:] if table == "dep_account" else frame
            landed = write_batch(
                read, landing_dir=stores.landing_dir, system="core", table=table, batch_id="b1"
            )
            warehouse.open().replace_table(raw_table("core", table), frame)
            yield dg.MaterializeResult(
                asset_key=raw_asset_key("core", table),
                metadata={
                    SOURCE_ROW_COUNT: dg.MetadataValue.int(count_source_rows(source, table)),
                    "landing_file": dg.MetadataValue.path(str(landed)),
                },
            )

    (check,) = [c for c in build_raw_checks(config) if c.node_def.name == "raw_quality_core"]
    result = dg.materialize(
        [extract, check],
        instance=pipeline.instance,
        resources={
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
            "stores": StorePathsResource(home=str(tmp_path), serving_path=str(tmp_path / "s")),
        },
        run_config={"ops": {"raw_quality_core": {"config": {"as_of_date": AS_OF.isoformat()}}}},
        raise_on_error=False,
    )
    counts = {
        e.asset_key.path[-1]: e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "raw__row_count_matches_source"
    }
    assert counts["core__cif_customer"].passed
    assert not counts["core__dep_account"].passed
    assert counts["core__dep_account"].metadata["failed"].value == 1
    (example,) = counts["core__dep_account"].metadata["masked_examples"].value  # type: ignore[misc]
    assert re.fullmatch(r"dep_account: ([\d,]+) rows extracted, the source holds ([\d,]+)", example)
