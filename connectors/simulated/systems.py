"""The three systems' customer tables, each in its own format (docs/CONTRACTS.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from . import names, places, schema
from ._arrays import (
    cat,
    child_rng,
    fmt_date,
    fmt_ts,
    sequential_ids,
    set_missing,
    uniform_days,
    zpad,
)
from .config import NoiseConfig
from .population import Population
from .records import Holdings, PartyFields, junk_fields, noisy_fields

# When each system went live: nobody can be its customer earlier. The second bank's systems
# (second_bank.py) are listed too.
SYSTEM_START = {
    "core": "1998-01-01",
    "credit": "2012-01-01",
    "crm": "2008-01-01",
    "cbs": "2003-06-01",
    "card": "2009-03-01",
    "wealth": "2014-01-01",
    "mbank": "2016-09-01",
}
ADULT_DAYS = 18 * 365
RM_COUNT = 20
RM_UNASSIGNED = 0.08  # CRM customers nobody was assigned to


@dataclass
class Customers:
    """One system's customer table plus what activity generation needs about each row."""

    system: str
    frame: pd.DataFrame  # contract columns, in contract order
    person: np.ndarray  # person index per row, -1 for junk
    since: np.ndarray  # datetime64[D]: customer since
    branch: np.ndarray  # object: branch code per row

    @property
    def junk(self) -> np.ndarray:
        return self.person < 0

    def ground_truth(self, pop: Population, key: str | None = None) -> pd.DataFrame:
        """`record_key` (`<system>:<key>`) and `person_id` of every row; `key` is the key
        column, by default the demo system's (schema.PARTY_TABLES)."""
        if key is None:
            _, key = schema.PARTY_TABLES[self.system]
        person_id = np.full(len(self.person), None, dtype=object)
        real = self.person >= 0
        person_id[real] = pop.person_ids(self.person[real])
        return pd.DataFrame(
            {
                "record_key": cat(self.system + ":", self.frame[key].to_numpy(dtype=object)),
                "person_id": person_id,
            }
        )


def end_of_day(as_of: date) -> np.datetime64:
    """The last second of the business date: no timestamp of any system is later."""
    return np.datetime64(as_of + timedelta(days=1), "s") - np.timedelta64(1, "s")


def system_records(
    pop: Population, holdings: Holdings, system: str, noise: NoiseConfig, seed: int, as_of: date
) -> PartyFields:
    fields = noisy_fields(pop, holdings, system, noise, seed, as_of=as_of)
    return PartyFields.concat([fields, junk_fields(system, len(fields), noise, seed)])


def customer_since(
    rng: np.random.Generator, pop: Population, f: PartyFields, system: str, as_of: date
) -> np.ndarray:
    """Customer-since dates: after the system went live and the person came of age; a
    duplicate record is opened after the original it duplicates."""
    n = len(f)
    last = np.datetime64(as_of, "D") - np.timedelta64(1, "D")
    real = f.person >= 0
    birth = np.where(real, pop.birth[np.maximum(f.person, 0)], np.datetime64("1970-01-01"))
    lo = np.maximum(birth + np.timedelta64(ADULT_DAYS, "D"), np.datetime64(SYSTEM_START[system]))
    lo = np.minimum(lo, last)
    since = uniform_days(rng, lo, np.full(n, last))
    first = np.full(len(pop), np.datetime64("NaT"), dtype="datetime64[D]")
    original = real & ~f.duplicate
    first[f.person[original]] = since[original]
    dup = np.flatnonzero(f.duplicate)
    since[dup] = uniform_days(rng, first[f.person[dup]], np.full(len(dup), last))
    return since


def update_times(
    rng: np.random.Generator, since: np.ndarray, stale: np.ndarray, as_of: date
) -> np.ndarray:
    """Last-update timestamps, skewed towards recent so incremental extracts find changes;
    a record still holding an old phone or address was last touched long ago."""
    start = since.astype("datetime64[s]").astype(np.int64)
    end = end_of_day(as_of).astype(np.int64)
    frac = rng.random(len(since)) ** 0.6
    frac = np.where(stale, frac * 0.3, frac)
    return (start + (frac * (end - start)).astype(np.int64)).astype("datetime64[s]")


def in_numbering_order(
    rng: np.random.Generator, f: PartyFields, since: np.ndarray
) -> tuple[PartyFields, np.ndarray]:
    """Rows in the order the system numbered them: by customer-since date."""
    order = np.lexsort((rng.random(len(f)), since))
    return f.take(order), since[order]


def render_gender(values: np.ndarray, male: str, female: str) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    out[values == 1] = male
    out[values == 0] = female
    return out


def core_customers(
    pop: Population, holdings: Holdings, noise: NoiseConfig, seed: int, as_of: date
) -> Customers:
    rng = child_rng(seed, "core-customers")
    f = system_records(pop, holdings, "core", noise, seed, as_of)
    f, since = in_numbering_order(rng, f, customer_since(rng, pop, f, "core", as_of))
    branch = places.branches_for(rng, f.div)
    frame = pd.DataFrame(
        {
            "cust_no": cat("C", zpad(sequential_ids(rng, len(f), 100_000_000), 9)),
            "cust_name": f.name,
            "cert_type": f.cert_type,
            # The core system's certificate column is NOT NULL: a missing number is blank.
            "cert_no": np.where(pd.isna(f.cert_no), "", f.cert_no).astype(object),
            "gender_cd": render_gender(f.gender, "1", "2"),
            "birth_dt": fmt_date(f.birth, "compact"),
            "mobile_no": f.phone,
            "addr": f.address,
            "open_branch_no": branch,
            "open_dt": fmt_date(since, "iso"),
            "last_upd_ts": fmt_ts(update_times(rng, since, f.stale, as_of), "space"),
        }
    )
    return Customers("core", frame[list(schema.columns("cif_customer"))], f.person, since, branch)


def credit_borrowers(
    pop: Population, holdings: Holdings, noise: NoiseConfig, seed: int, as_of: date
) -> Customers:
    rng = child_rng(seed, "credit-borrowers")
    f = system_records(pop, holdings, "credit", noise, seed, as_of)
    f, since = in_numbering_order(rng, f, customer_since(rng, pop, f, "credit", as_of))
    branch = places.branches_for(rng, f.div)
    # Two front ends fed this system over the years, each writing dates its own way.
    slash = rng.random(len(f)) < 0.3
    birthday = np.where(slash, fmt_date(f.birth, "slash"), fmt_date(f.birth, "iso"))
    frame = pd.DataFrame(
        {
            "BORROWER_ID": cat("BR", zpad(sequential_ids(rng, len(f), 10_000_000), 8)),
            "FULL_NAME": f.name,
            "ID_CARD_NO": f.cert_no,
            "PHONE": f.phone,
            "BIRTHDAY": birthday.astype(object),
            "SEX": render_gender(f.gender, "M", "F"),
            "HOME_ADDRESS": f.address,
            "EMPLOYER": f.employer,
            "UPDATED_AT": fmt_ts(update_times(rng, since, f.stale, as_of), "iso_t"),
        }
    )
    return Customers("credit", frame[list(schema.columns("BORROWER"))], f.person, since, branch)


def relationship_managers(seed: int) -> pd.DataFrame:
    """About twenty relationship managers: one per branch, the rest at the busiest ones."""
    rng = child_rng(seed, "relationship-managers")
    n_branch = len(places.BRANCHES)
    busy = np.array([3.0 if b[2] == "石家庄市" else 1.0 for b in places.BRANCHES])
    extra = rng.choice(n_branch, size=max(RM_COUNT - n_branch, 0), p=busy / busy.sum())
    branch_idx = np.sort(np.concatenate([np.arange(n_branch), extra]))[:RM_COUNT]
    male = rng.random(len(branch_idx)) < 0.45
    surname = names.SURNAME_CHARS[
        rng.choice(len(names.SURNAME_CHARS), size=len(branch_idx), p=names.SURNAME_WEIGHTS)
    ]
    ids = np.sort(rng.choice(np.arange(1001, 10_000), size=len(branch_idx), replace=False))
    return pd.DataFrame(
        {
            "客户经理编号": cat("RM", zpad(ids, 4)),
            "姓名": cat(surname, names.draw_given_names(rng, male)),
            "所属网点": places.BRANCH_CODES[branch_idx],
            "网点名称": np.array([places.BRANCHES[i][1] for i in branch_idx], dtype=object),
        }
    )


def assign_managers(
    rng: np.random.Generator, branch: np.ndarray, managers: pd.DataFrame
) -> np.ndarray:
    """A relationship manager of the customer's branch per row (`relationship_managers`
    columns), None for the customers nobody was assigned to."""
    rm = np.full(len(branch), None, dtype=object)
    for code, group in managers.groupby("所属网点"):
        rows = np.flatnonzero(branch == code)
        ids = group["客户经理编号"].to_numpy(dtype=object)
        rm[rows] = ids[rng.integers(len(ids), size=len(rows))]
    return set_missing(rm, rng.random(len(branch)) < RM_UNASSIGNED)


def crm_customers(
    pop: Population,
    holdings: Holdings,
    managers: pd.DataFrame,
    noise: NoiseConfig,
    seed: int,
    as_of: date,
) -> Customers:
    rng = child_rng(seed, "crm-customers")
    f = system_records(pop, holdings, "crm", noise, seed, as_of)
    f, since = in_numbering_order(rng, f, customer_since(rng, pop, f, "crm", as_of))
    n = len(f)
    branch = places.branches_for(rng, f.div)
    rm = assign_managers(rng, branch, managers)
    style = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    birth = np.choose(
        style, [fmt_date(f.birth, "cn"), fmt_date(f.birth, "iso"), fmt_date(f.birth, "compact")]
    )
    # The CRM export rewrote every row in its last migration, so update times are recent-ish
    # but never before the customer existed.
    updated = update_times(rng, since, f.stale, as_of)
    frame = pd.DataFrame(
        {
            "客户编号": cat("CRM", zpad(sequential_ids(rng, n, 1_000_000, max_gap=2), 7)),
            "姓名": f.name,
            "证件号码": f.cert_no,
            "手机": f.phone,
            "联系地址": f.address,
            "出生日期": birth.astype(object),
            "性别": render_gender(f.gender, "男", "女"),
            "客户经理": rm,
            "所属网点": branch,
            "更新时间": fmt_ts(updated, "crm"),
        }
    )
    return Customers("crm", frame[list(schema.columns("crm_customers"))], f.person, since, branch)
