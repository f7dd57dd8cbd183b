"""Simulated source systems: a Hebei customer population spread over three bank systems.

`simulate()` writes what docs/CONTRACTS.md §1 describes — the core banking and credit SQLite
databases, the legacy CRM's GBK CSV exports, the ground truth (which person each customer
record belongs to), every person's true attributes (`people.parquet`) and a manifest. Same
arguments, same output: every random draw comes from a generator seeded by `seed` and the
component's name.

    from connectors.simulated import NoiseConfig, load_noise_profile, simulate
    manifest = simulate(Path("var/sources"), people=10_000, seed=42)
    manifest = simulate(Path("var/legacy"), profile="legacy_hebei")
    manifest = simulate(Path("var/x2"), noise=load_noise_profile("default").scaled(2),
                        profile="default")

The noise comes from a profile (`profiles/*.yaml`, docs/SIMULATOR_PROFILES.md); the default
profile is `NoiseConfig()` itself.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema
from .activity import deposit_accounts, loans, service_tickets
from .config import GENERATOR_VERSION, PROFILES, NoiseConfig, load_noise_profile
from .population import generate_population
from .records import assign_holdings
from .second_bank import ACTIVITY, simulate_second_bank
from .systems import core_customers, credit_borrowers, crm_customers, relationship_managers
from .write import (
    manifest_header,
    write_csv,
    write_ground_truth,
    write_manifest,
    write_people,
    write_sqlite,
)

__all__ = [
    "ACTIVITY",
    "GENERATOR_VERSION",
    "PROFILES",
    "SHAPES",
    "NoiseConfig",
    "load_noise_profile",
    "simulate",
]

DEFAULT_AS_OF = date(2026, 11, 28)
#: The banks the simulator can write: the demo's three systems, or a second bank shaped
#: unlike it (second_bank.py).
SHAPES = ("demo", "second_bank")


def simulate(
    out_dir: Path,
    people: int = 10_000,
    seed: int = 42,
    as_of: date = DEFAULT_AS_OF,
    noise: NoiseConfig | None = None,
    profile: str | Path | None = None,
    shape: str = "demo",
    activity: Collection[str] | str | None = None,
) -> dict[str, Any]:
    """Generate the population and the bank's systems into `out_dir`; return the manifest.

    `profile` is the name or path of the noise profile, recorded in the manifest; when
    `noise` is not given, the profile is loaded (`load_noise_profile`), and without either
    the noise is `NoiseConfig()`, the default profile. `shape` is one of SHAPES; the second
    bank writes customer tables only unless `activity` names some of ACTIVITY (a list or a
    comma-separated string). The demo always writes all its activity tables.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}")
    if noise is None:
        noise = load_noise_profile(profile) if profile is not None else NoiseConfig()
    if shape == "second_bank":
        return simulate_second_bank(Path(out_dir), people, seed, as_of, noise, profile, activity)
    if activity:
        raise ValueError("activity tables are chosen for the second_bank shape only")
    out = Path(out_dir)
    (out / schema.CRM_DIR).mkdir(parents=True, exist_ok=True)

    pop = generate_population(people, seed, noise)
    write_people(out / schema.PEOPLE_FILE, pop.attributes())
    holdings = assign_holdings(people, seed, noise)
    counts: dict[str, dict[str, int]] = {}
    truth: list[pd.DataFrame] = []

    # One system at a time, freeing each before the next: memory stays at one system's size.
    core = core_customers(pop, holdings["core"], noise, seed, as_of)
    accounts = deposit_accounts(core, seed, as_of)
    write_sqlite(
        out / schema.CORE_FILE,
        {"cif_customer": core.frame, "dep_account": accounts},
        schema.CORE_TABLES,
        schema.SQLITE_INDEXES["core"],
    )
    counts["core"] = {"cif_customer": len(core.frame), "dep_account": len(accounts)}
    truth.append(core.ground_truth(pop))
    del core, accounts

    credit = credit_borrowers(pop, holdings["credit"], noise, seed, as_of)
    applications, loan = loans(credit, seed, as_of)
    write_sqlite(
        out / schema.CREDIT_FILE,
        {"BORROWER": credit.frame, "LOAN_APPLICATION": applications, "LOAN": loan},
        schema.CREDIT_TABLES,
        schema.SQLITE_INDEXES["credit"],
    )
    counts["credit"] = {
        "BORROWER": len(credit.frame),
        "LOAN_APPLICATION": len(applications),
        "LOAN": len(loan),
    }
    truth.append(credit.ground_truth(pop))
    del credit, applications, loan

    managers = relationship_managers(seed)
    crm = crm_customers(pop, holdings["crm"], managers, noise, seed, as_of)
    tickets = service_tickets(crm, seed, as_of)
    crm_tables = {
        "crm_customers": crm.frame,
        "crm_service_tickets": tickets,
        "crm_relationship_managers": managers,
    }
    for table, frame in crm_tables.items():
        write_csv(out / schema.CRM_DIR / f"{table}.csv", frame, schema.CRM_ENCODING)
    counts["crm"] = {table: len(frame) for table, frame in crm_tables.items()}
    truth.append(crm.ground_truth(pop))
    del crm, tickets, crm_tables

    ground_truth = pd.concat(truth, ignore_index=True)
    write_ground_truth(out / schema.GROUND_TRUTH_FILE, ground_truth)
    manifest: dict[str, Any] = {
        **manifest_header(
            seed=seed,
            people=people,
            as_of=as_of,
            profile=profile,
            noise=noise,
            row_counts=counts,
            ground_truth=ground_truth,
        ),
        "files": {
            "core": schema.CORE_FILE,
            "credit": schema.CREDIT_FILE,
            "crm": [f"{schema.CRM_DIR}/{t}.csv" for t in schema.CRM_COLUMNS],
            "ground_truth": schema.GROUND_TRUTH_FILE,
            "people": schema.PEOPLE_FILE,
        },
        "encodings": {"crm": schema.CRM_ENCODING},
    }
    write_manifest(out / schema.MANIFEST_FILE, manifest)
    return manifest
