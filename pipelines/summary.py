"""The run summary `mdm run` and `make demo` print: what each stage did, measured."""

from __future__ import annotations

from connectors.reports import report_path
from connectors.settings import PROJECT_ROOT, Settings
from connectors.warehouse import Warehouse, open_warehouse

HEADLINE_SQL = PROJECT_ROOT / "dbt_project" / "analyses" / "demo_headline.sql"


def _count(store: Warehouse, sql: str) -> int:
    frame = store.query(sql)
    return int(frame.iloc[0, 0]) if len(frame) else 0  # type: ignore[arg-type]


def _line(label: str, value: int, indent: int = 2) -> None:
    print(f"{' ' * indent}{label:<{42 - indent}} {value:>10,}")


def print_summary(
    settings: Settings, *, run_id: str, elapsed_seconds: float, success: bool
) -> None:
    store = open_warehouse(settings.resolved_warehouse_url)
    print()
    print(f"run {run_id} {'succeeded' if success else 'FAILED'} in {elapsed_seconds:.1f} s")
    if not store.table_exists("mdm.party_records"):
        print("no party records were written; see the Dagster run log (make ui)")
        return
    raw = store.query(
        "select table_name from information_schema.tables "
        "where table_schema = 'raw' and table_name not like '\\_%' escape '\\' order by 1"
    )
    print("\nextract (raw rows)")
    for table in raw["table_name"]:
        _line(table, _count(store, f'select count(*) from raw."{table}"'))

    print("\nstandardize")
    _line("party records", _count(store, "select count(*) from mdm.party_records"))
    quarantine = store.query(
        "select source_system, rule, count(*) as n from mdm.quarantine group by 1, 2 order by 1, 2"
    )
    _line("quarantined rows", int(quarantine["n"].sum()) if len(quarantine) else 0)
    for system, rule, count in quarantine.itertuples(index=False, name=None):
        _line(f"{system}: {rule}", int(count), indent=4)

    if store.table_exists("mdm.scored_pairs"):
        print("\nmatch")
        _line("candidate pairs", _count(store, "select count(*) from mdm.scored_pairs"))
        zones = store.query(
            "select zone, count(*) as n from mdm.scored_pairs group by 1 order by 1"
        )
        for zone, count in zones.itertuples(index=False, name=None):
            _line(str(zone), int(count), indent=4)
        _line("clusters", _count(store, "select count(distinct cluster_id) from mdm.clusters"))

    if store.table_exists("mdm.golden_records"):
        print("\ngolden records")
        active = "select count(*) from mdm.golden_records where status = 'active'"
        _line("active golden records", _count(store, active))
        events = store.query(
            "select event_type, count(*) as n from mdm.golden_events where run_id = ? group by 1",
            [run_id],
        )
        counts = dict(events.itertuples(index=False, name=None))
        print("    this run's golden-ID events (a rerun on unchanged data shows zeros):")
        for event_type in ("create", "update", "merge", "split", "retire"):
            _line(f"{event_type}", int(counts.get(event_type, 0)), indent=6)
        if store.table_exists("mdm.review_queue"):
            _line(
                "review queue (undecided)", _count(store, "select count(*) from mdm.review_queue")
            )

    if store.table_exists("mdm.standardization_accuracy"):
        accuracy = store.read_table("mdm.standardization_accuracy")
        print("\nstandardized values equal to the simulated truth (share of records)")
        for row in accuracy.to_dict("records"):
            print(
                f"    {row['field']:<14} {float(row['share_correct']):.4f}"
                f"   ({float(row['share_correct_of_filled']):.4f} of filled)"
            )

    if store.table_exists("mdm.match_evaluation"):
        evaluation = store.query("select * from mdm.match_evaluation").iloc[0]
        print("\nmatching quality against the simulated ground truth (pairwise)")
        print(
            f"  precision {evaluation['precision']:.4f}   recall {evaluation['recall']:.4f}"
            f"   F1 {evaluation['f1']:.4f}"
        )

    if store.table_exists("marts.rm_tasks"):
        headline = store.query(HEADLINE_SQL.read_text(encoding="utf-8")).iloc[0]
        print(f"\ncustomer 360 and service KPIs (as of {headline['as_of_date']:%Y-%m-%d})")
        _line("customers", int(headline["customers"]))
        aum = float(headline["total_aum_cny"])
        print(f"  {'total assets under management (CNY)':<40} {aum:>14,.2f}")
        median = headline["median_first_response_minutes"]
        print(f"  {'median first response (minutes)':<40} {float(median):>14,.2f}")
        _line("open relationship-manager tasks", int(headline["open_tasks"]))
        for task in ("maturity_followup", "complaint_escalation", "vip_contact"):
            _line(task, int(headline[f"{task}_tasks"]), indent=4)

    if store.table_exists("dq.results"):
        failed = store.query(
            "select stage, rule_id, source_system, failed, evaluated from dq.results "
            "where run_id = ? and not passed order by 1, 2",
            [run_id],
        )
        print(f"\nquality: {len(failed)} rule(s) failed this run")
        for stage, rule_id, source, failures, evaluated in failed.itertuples(
            index=False, name=None
        ):
            print(f"    {stage}/{rule_id} [{source}] {int(failures):,} of {int(evaluated):,}")

    print("\nwhere to look next")
    print("  Dagster UI       make ui   → http://127.0.0.1:3000 (this run is in its history)")
    print("  read API         make api  → http://127.0.0.1:8000/docs")
    print(f"  quality report   {report_path(settings.reports_dir, run_id)} (open in a browser)")
    print(f"  serving snapshot {settings.resolved_serving_path}")
    print("  match quality    .venv/bin/mdm evaluate (misses by cause, recall per blocking rule)")
    print(f"  warehouse        {settings.resolved_warehouse_url}")
