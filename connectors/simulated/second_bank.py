"""A second bank, shaped unlike the demo's: the same people in four other systems.

Onboarding is tested on sources that look nothing like the demo bank's (issue 13). This bank
holds the same simulated people (`population.py`), damaged by the same noise machinery
(`records.py`, the active profile), in systems of its own making:

- `cbs` — an Oracle-style core whose tables sit in SQLite with upper-case names: customers in
  `T_CUST_BASE`, their documents in a one-to-many `T_CUST_CERT` (resident IDs, old 15-digit
  IDs, household registers, passports, HK/Macao permits, other papers), each with this
  bank's own type codes;
- `card` — a credit-card system's UTF-8 CSV: an ID-type code column, a latin (embossed) name
  beside a Chinese name that is sometimes empty, gender codes `U` and `0`;
- `wealth` — a wealth-management branch system exported to real `.xlsx` files whose data
  sit on the second sheet (`数据`) after a sheet of notes, birth dates as Excel date cells
  and timestamps like `2025-07-30 18:38:09.096169+08`;
- `mbank` — a mobile-banking export (UTF-8 with BOM) keyed by the phone: IDs partially masked
  (`130***********1234`), names mostly empty, some `+852` / `+853` mobiles.

Customer tables only, unless `activity` asks for some of `ACTIVITY`: accounts and loans in the
core, service tickets and relationship managers in the wealth system, each in this bank's
own names and codes (the demo's generators, `activity.py`, re-coded). The layout is
docs/CONTRACTS.md §1 ("Second bank shape"); `examples/second_bank/` maps it onto the pipeline.

Each system takes the noise of the demo system it resembles (`NOISE_KIND`): its rates, its
per-system multiplier in a profile, and its kind-specific damage (passports for the core's
kind, pinyin names for the credit system's). Every random stream is the demo's, keyed by a
seed derived from the bank and the system, so no two systems share a draw.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import activity as demo_activity
from . import idcards, names, places
from ._arrays import (
    cat,
    child_rng,
    fmt_date,
    fmt_ts,
    num,
    sequential_ids,
    set_missing,
    zpad,
)
from .activity import deposit_accounts, loans, service_tickets
from .config import NoiseConfig
from .population import Population, generate_population
from .records import Holdings, PartyFields
from .schema import GROUND_TRUTH_FILE, MANIFEST_FILE, PEOPLE_FILE
from .systems import (
    Customers,
    assign_managers,
    customer_since,
    end_of_day,
    in_numbering_order,
    relationship_managers,
    render_gender,
    system_records,
    update_times,
)
from .write import (
    Layout,
    manifest_header,
    write_csv,
    write_ground_truth,
    write_manifest,
    write_people,
    write_sqlite,
    write_xlsx,
)

SHAPE = "second_bank"
#: The bank's systems, in the order they are generated (the source names in its mdm.yaml).
SYSTEMS = ("cbs", "card", "wealth", "mbank")
#: The demo system whose noise each system takes (rates, profile multiplier, kind of damage).
NOISE_KIND = {"cbs": "core", "card": "credit", "wealth": "crm", "mbank": "crm"}
#: Share of people each system holds; a person none drew goes to one (like the demo's).
SHARES = {"cbs": 0.80, "card": 0.35, "wealth": 0.25, "mbank": 0.45}
#: What `--activity` may ask for: the activity table it adds, by system.
ACTIVITY = {
    "accounts": ("cbs", "T_DPST_ACCT"),
    "loan_applications": ("cbs", "T_LOAN_APPL"),
    "loans": ("cbs", "T_LOAN_CONTR"),
    "tickets": ("wealth", "WM_SVC_TICKET"),
    "relationship_managers": ("wealth", "WM_RM"),
}

# Files --------------------------------------------------------------------------------------
CBS_FILE = "cbs.sqlite"
CARD_DIR, WEALTH_DIR, MBANK_DIR = "card", "wealth", "mbank"
CARD_ENCODING = "utf-8"
MBANK_ENCODING = "utf-8-sig"
WEALTH_SHEET = "数据"  # the data; the first sheet only describes the export
WEALTH_NOTES_SHEET = "说明"

#: Each system's customer table and key column: ground-truth record keys are `<system>:<key>`.
PARTY_TABLES = {
    "cbs": ("T_CUST_BASE", "CUST_ID"),
    "card": ("cc_holder", "cardholder_no"),
    "wealth": ("WM_CUST", "客户号"),
    "mbank": ("mb_user", "userId"),
}

# SQLite tables of the core: (column, declared type, constraint), as write_sqlite takes them.
CBS_TABLES: dict[str, Layout] = {
    "T_CUST_BASE": (
        ("CUST_ID", "TEXT", "PRIMARY KEY"),
        ("CUST_NM", "TEXT", ""),
        ("GNDR_CD", "TEXT", ""),
        ("BIRTH_DT", "TEXT", ""),
        ("MOBILE_NO", "TEXT", ""),
        ("RESID_ADDR", "TEXT", ""),
        ("OPEN_ORG_NO", "TEXT", ""),
        ("CUST_STAT_CD", "TEXT", ""),
        ("CRT_TM", "TEXT", ""),
        ("UPD_TM", "TEXT", ""),
    ),
    "T_CUST_CERT": (
        ("CUST_ID", "TEXT", ""),
        ("CERT_SEQ_NO", "INTEGER", ""),
        ("CERT_TP_CD", "TEXT", ""),
        ("CERT_NO", "TEXT", ""),
        ("CERT_EXP_DT", "TEXT", ""),
        ("PRIM_CERT_FLG", "TEXT", ""),
        ("UPD_TM", "TEXT", ""),
    ),
    "T_DPST_ACCT": (
        ("ACCT_NO", "TEXT", "PRIMARY KEY"),
        ("CUST_ID", "TEXT", ""),
        ("ACCT_TP_CD", "TEXT", ""),
        ("PROD_CD", "TEXT", ""),
        ("CCY_CD", "TEXT", ""),
        ("ACCT_BAL", "REAL", ""),
        ("OPEN_DT", "TEXT", ""),
        ("MATU_DT", "TEXT", ""),
        ("OPEN_ORG_NO", "TEXT", ""),
        ("ACCT_STAT_CD", "TEXT", ""),
        ("UPD_TM", "TEXT", ""),
    ),
    "T_LOAN_APPL": (
        ("APPL_NO", "TEXT", "PRIMARY KEY"),
        ("CUST_ID", "TEXT", ""),
        ("LOAN_PROD_CD", "TEXT", ""),
        ("APPL_AMT", "REAL", ""),
        ("ACPT_ORG_NO", "TEXT", ""),
        ("APPL_TM", "TEXT", ""),
        ("PRE_AUDIT_TM", "TEXT", ""),
        ("CRDT_AUDIT_TM", "TEXT", ""),
        ("APRV_TM", "TEXT", ""),
        ("DSBR_TM", "TEXT", ""),
        ("APPL_STAT_CD", "TEXT", ""),
    ),
    "T_LOAN_CONTR": (
        ("CONTR_NO", "TEXT", "PRIMARY KEY"),
        ("APPL_NO", "TEXT", ""),
        ("CUST_ID", "TEXT", ""),
        ("CONTR_AMT", "REAL", ""),
        ("LOAN_BAL", "REAL", ""),
        ("EXEC_RATE", "REAL", ""),
        ("START_DT", "TEXT", ""),
        ("MATU_DT", "TEXT", ""),
        ("FIVE_CLS_CD", "TEXT", ""),
        ("MGMT_ORG_NO", "TEXT", ""),
    ),
}
CBS_INDEXES = (
    ("T_CUST_CERT", "CUST_ID"),
    ("T_CUST_BASE", "UPD_TM"),
    ("T_DPST_ACCT", "CUST_ID"),
    ("T_LOAN_APPL", "CUST_ID"),
    ("T_LOAN_CONTR", "APPL_NO"),
)

#: File tables: table -> columns, in file order.
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "cc_holder": (
        "cardholder_no", "name_cn", "name_en", "id_type", "id_no", "sex", "birth_date",
        "mobile", "email", "bill_address", "issue_branch", "card_product", "last_modified",
    ),
    "WM_CUST": (
        "客户号", "客户姓名", "证件类型", "证件号码", "性别", "出生日期", "手机号码", "联系地址",
        "客户经理", "归属机构", "风险等级", "最后修改时间",
    ),
    "WM_SVC_TICKET": (
        "工单号", "客户号", "受理渠道", "工单类型", "创建时间", "首次响应时间", "办结时间",
        "满意度", "处理人", "归属机构", "工单状态",
    ),
    "WM_RM": ("员工号", "员工姓名", "所属机构", "机构名称", "岗位"),
    "mb_user": (
        "userId", "realName", "certNoMasked", "regMobile", "regTime", "lastLoginTime",
        "updateTime", "deviceOs",
    ),
}  # fmt: skip

# This bank's code lists ---------------------------------------------------------------------
#: T_CUST_CERT.CERT_TP_CD: 101 resident ID (the old 15-digit one too), 103 household
#: register (it carries the resident ID number), 201 passport, 301 Hong Kong / Macao
#: resident's permit (回乡证), 302 Taiwan resident's permit (listed, not drawn), 999 other.
CBS_CERT_TYPES = {
    "101": "居民身份证",
    "103": "户口簿",
    "201": "护照",
    "301": "港澳居民来往内地通行证",
    "302": "台湾居民来往大陆通行证",
    "999": "其他证件",
}
#: T_CUST_BASE.GNDR_CD, GB/T 2261.1: 1 male, 2 female, 0 unknown, 9 not stated.
CBS_GENDERS = ("1", "2", "0", "9")
#: cc_holder.id_type: I resident ID, P passport, H HK/Macao permit, T Taiwan permit, O other,
#: Z the migration's "type not known" (the number's shape must decide).
CARD_ID_TYPES = ("I", "P", "H", "T", "O", "Z")
#: cc_holder.sex: M, F, U unknown; 0 also unknown (rows migrated from the old card system).
CARD_GENDERS = ("M", "F", "U", "0")
#: WM_CUST.证件类型, written out in words.
WEALTH_ID_TYPES = ("身份证", "护照", "回乡证", "其他证件", "未知")
WEALTH_GENDERS = ("男", "女", "未知")
ACCOUNT_TYPES = {"DEMAND": "01", "TIME": "02", "WEALTH": "03"}
ACCOUNT_STATUSES = {"ACTIVE": "N", "CLOSED": "C", "FROZEN": "F"}  # a frozen account is active
# The demo's values (activity.py) in this bank's codes, in the demo lists' order.
APPLICATION_STATUSES = dict(
    zip(demo_activity.STATUSES, ("10", "20", "30", "40", "50"), strict=True)
)
LOAN_PRODUCTS = dict(zip(demo_activity.PRODUCTS, ("HL01", "CL01", "BL01", "CI01"), strict=True))
FIVE_TIER_CODES = dict(zip(demo_activity.FIVE_TIER, ("1", "2", "3", "4", "5"), strict=True))
TICKET_CHANNELS = dict(zip(demo_activity.CHANNELS, ("BR", "TEL", "APP", "WX"), strict=True))
TICKET_CATEGORIES = dict(
    zip(demo_activity.CATEGORIES, ("CMPL", "INQ", "ADDR", "LOST"), strict=True)
)
TICKET_STATUSES = {"已解决": "CLOSED", "处理中": "PROCESSING", "待响应": "PENDING"}

# Rates of what makes this bank different (the noise itself is the profile's) -----------------
OLD_ID15_KEPT = 0.25  # of customers old enough to have had one: the 15-digit ID still on file
FIFTEEN_DIGIT_BORN_BEFORE = np.datetime64("1988-01-01")  # 16 by 2004, when they were replaced
HOUSEHOLD_REGISTER = 0.03
EXTRA_PASSPORT = 0.06
# People who also live in Hong Kong or Macao: they hold a resident's permit (回乡证, H or M +
# 8 digits) that some systems keep, and some registered for mobile banking with a +852 or
# +853 number.
HONG_KONG_MACAO = 0.04
MACAO_SHARE = 0.25  # of them, Macao residents
PERMIT_ON_FILE = {"cbs": 0.7, "card": 0.3, "wealth": 0.3}  # of them, the permit in the system
HONG_KONG_MACAO_MOBILE = 0.6  # of them, registered for mobile banking with that number
OTHER_PAPERS = 0.004
LONG_TERM_ID_AGE = 46  # a resident ID issued at 46 or later never expires (99991231)
DORMANT = 0.05
CARD_CN_NAME_EMPTY = 0.15  # the Chinese name left empty: only the embossed name was keyed
CARD_PASSPORT = 0.02
CARD_TYPE_UNKNOWN = 0.05  # of resident IDs, typed Z by the migration
UNKNOWN_GENDER_ZERO = 0.3  # of the card's missing genders, written 0 instead of U
EMAIL_SHARE = 0.4
EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "139.com", "hotmail.com")
EMAIL_DOMAIN_P = (0.30, 0.15, 0.35, 0.08, 0.07, 0.05)
CARD_PRODUCTS = ("CLASSIC", "GOLD", "PLATINUM")
CARD_PRODUCT_P = (0.6, 0.3, 0.1)
WEALTH_PASSPORT = 0.02
WEALTH_OTHER = 0.005
WEALTH_TYPE_UNKNOWN = 0.03
RISK_LEVELS = ("R1", "R2", "R3", "R4", "R5")
RISK_LEVEL_P = (0.15, 0.35, 0.30, 0.15, 0.05)
MBANK_NAME_GIVEN = 0.2  # most users never typed a name: the app knows them by their phone
MBANK_MASK_HEAD = (3, 4, 6)  # visible leading characters of a masked ID
MBANK_MASK_HEAD_P = (0.5, 0.2, 0.3)
MBANK_TAIL = 4
DEVICES = ("Android", "iOS", "HarmonyOS")
DEVICE_P = (0.5, 0.35, 0.15)
BORROWER_SHARE = 0.3  # of the core's customers, those with loan applications
FROZEN = 0.02  # of active accounts


def bank_seed(seed: int, system: str) -> int:
    """The seed of one of this bank's systems: the demo's streams, not the demo's draws."""
    return int(child_rng(seed, f"second-bank-{system}").integers(2**62))


def org_codes(branch: np.ndarray) -> np.ndarray:
    """This bank's organisation numbers for the demo's branches: B0101 -> 800101."""
    return cat("80", pd.Series(branch, dtype=object).str[1:].to_numpy(dtype=object))


def staff_ids(rm_ids: np.ndarray) -> np.ndarray:
    """Staff numbers for the demo's relationship-manager ids: RM1234 -> E01234."""
    return cat("E0", pd.Series(rm_ids, dtype=object).str[2:].to_numpy(dtype=object))


def _hits(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _pick(
    rng: np.random.Generator, options: tuple[str, ...], p: tuple[float, ...], n: int
) -> np.ndarray:
    return np.array(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def _stamp(seconds: np.ndarray, micros: np.ndarray, style: str) -> np.ndarray:
    """Timestamps with a fraction and a zone, the ways these systems write them.

    styles: `micro` 2025-07-30 18:38:09.096169 (Oracle TIMESTAMP as text), `micro_offset`
    2025-07-30 18:38:09.096169+08 (PostgreSQL timestamptz as text), `millis_offset`
    2025-07-30T18:38:09.096+08:00 (a Java service's ISO form), `iso_offset`
    2025-07-30T18:38:09+08:00.
    """
    t = np.asarray(seconds).astype("datetime64[s]")
    missing = np.isnat(t)
    safe = np.where(missing, np.datetime64("2000-01-01T00:00:00"), t).astype("datetime64[us]")
    safe = safe + np.asarray(micros, dtype=np.int64).astype("timedelta64[us]")
    if style == "micro":
        text = np.strings.replace(np.datetime_as_string(safe, unit="us"), "T", " ")
    elif style == "micro_offset":
        text = np.strings.add(
            np.strings.replace(np.datetime_as_string(safe, unit="us"), "T", " "), "+08"
        )
    elif style == "millis_offset":
        text = np.strings.add(np.datetime_as_string(safe, unit="ms"), "+08:00")
    elif style == "iso_offset":
        text = np.strings.add(np.datetime_as_string(safe, unit="s"), "+08:00")
    else:
        raise ValueError(f"unknown timestamp style {style!r}")
    return set_missing(text.astype(object), missing)


def _micros(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 1_000_000, n)


def _daytime(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """A moment in office hours on each day (datetime64[s])."""
    return days.astype("datetime64[s]") + rng.integers(9 * 3600, 17 * 3600, len(days)).astype(
        "timedelta64[s]"
    )


def assign_holdings(people: int, seed: int, noise: NoiseConfig) -> dict[str, Holdings]:
    """Who each system holds: SHARES of the people, everybody somewhere, and duplicates at
    the duplicate rate of the system's noise kind."""
    rng = child_rng(seed, "second-bank-holdings")
    shares = np.array([SHARES[s] for s in SYSTEMS])
    held = rng.random((people, len(SYSTEMS))) < shares
    orphan = np.flatnonzero(~held.any(axis=1))
    held[orphan, rng.choice(len(SYSTEMS), size=len(orphan), p=shares / shares.sum())] = True
    out = {}
    for j, system in enumerate(SYSTEMS):
        person = np.flatnonzero(held[:, j])
        rate = noise.for_system(NOISE_KIND[system]).duplicate_rate
        again = person[rng.random(len(person)) < rate]
        out[system] = Holdings(
            person=np.concatenate([person, again]),
            duplicate=np.concatenate([np.zeros(len(person), bool), np.ones(len(again), bool)]),
        )
    return out


NOT_HK_MACAO, HONG_KONG, MACAO = 0, 1, 2


def hong_kong_macao(people: int, seed: int) -> np.ndarray:
    """Per person: HONG_KONG or MACAO for those who also live there, else NOT_HK_MACAO."""
    rng = child_rng(seed, "second-bank-hong-kong-macao")
    tied = rng.random(people) < HONG_KONG_MACAO
    return np.where(tied, np.where(rng.random(people) < MACAO_SHARE, MACAO, HONG_KONG), 0)


def permit_numbers(pop: Population, index: np.ndarray, seed: int) -> np.ndarray:
    """A person's Hong Kong / Macao resident's permit (回乡证): H or M + 8 digits, the same in
    every system (a bijection of the person index, so two people never share one)."""
    index = np.asarray(index, dtype=np.int64)
    offset = int(child_rng(seed, "second-bank-permits").integers(10**7))
    letter = np.where(hong_kong_macao(len(pop), seed)[index] == MACAO, "M", "H").astype(object)
    return cat(letter, zpad((index * 69_621 + offset) % 10**8, 8))


def permit_holders(
    rng: np.random.Generator, pop: Population, f: PartyFields, system: str, seed: int
) -> np.ndarray:
    """The records of this system that carry the person's Hong Kong / Macao permit."""
    tied = hong_kong_macao(len(pop), seed)[np.maximum(f.person, 0)] != NOT_HK_MACAO
    return (f.person >= 0) & tied & _hits(rng, len(f), PERMIT_ON_FILE[system])


def other_papers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Numbers of other papers (a military officer's card: 军字第1234567号)."""
    return cat("军字第", zpad(rng.integers(0, 10**7, n), 7), "号")


def _records(
    pop: Population,
    holdings: dict[str, Holdings],
    system: str,
    noise: NoiseConfig,
    seed: int,
    as_of: date,
) -> tuple[np.random.Generator, PartyFields, np.ndarray, np.ndarray]:
    """The system's damaged records in numbering order, with customer-since days and branch."""
    own = bank_seed(seed, system)
    rng = child_rng(own, f"{system}-customers")
    f = system_records(pop, holdings[system], NOISE_KIND[system], noise, own, as_of)
    f, since = in_numbering_order(rng, f, customer_since(rng, pop, f, system, as_of))
    return rng, f, since, places.branches_for(rng, f.div)


def _missing_genders(
    rng: np.random.Generator,
    rendered: np.ndarray,
    codes: tuple[str | None, ...],
    p: tuple[float, ...],
) -> np.ndarray:
    """A missing gender written as one of the system's 'unknown' codes (None: left empty)."""
    out = rendered.copy()
    rows = np.flatnonzero(pd.isna(out))
    out[rows] = np.array(codes, dtype=object)[rng.choice(len(codes), size=len(rows), p=p)]
    return out


# The core: customers and their documents ------------------------------------------------------


def cbs_customers(
    pop: Population, holdings: dict[str, Holdings], noise: NoiseConfig, seed: int, as_of: date
) -> tuple[Customers, pd.DataFrame]:
    """T_CUST_BASE (as a Customers) and T_CUST_CERT."""
    rng, f, since, branch = _records(pop, holdings, "cbs", noise, seed, as_of)
    n = len(f)
    cust_id = cat("8", zpad(sequential_ids(rng, n, 10_000_000_000), 11))
    birth = fmt_date(f.birth, "iso")
    known = pd.notna(birth)
    birth[known] = cat(birth[known], " 00:00:00")  # an Oracle DATE read out as text
    updated = update_times(rng, since, f.stale, as_of)
    frame = pd.DataFrame(
        {
            "CUST_ID": cust_id,
            "CUST_NM": f.name,
            "GNDR_CD": _missing_genders(
                rng, render_gender(f.gender, "1", "2"), ("0", "9", None), (0.5, 0.3, 0.2)
            ),
            "BIRTH_DT": birth,
            "MOBILE_NO": f.phone,
            "RESID_ADDR": f.address,
            "OPEN_ORG_NO": org_codes(branch),
            "CUST_STAT_CD": np.where(_hits(rng, n, DORMANT), "2", "1").astype(object),
            "CRT_TM": fmt_ts(_daytime(rng, since), "space"),
            "UPD_TM": _stamp(updated, _micros(rng, n), "micro"),
        }
    )
    certificates = _certificates(
        child_rng(bank_seed(seed, "cbs"), "cbs-certificates"),
        pop,
        f,
        cust_id,
        updated,
        seed,
        as_of,
    )
    customers = Customers("cbs", frame[_columns("T_CUST_BASE")], f.person, since, branch)
    return customers, certificates


def _certificates(
    rng: np.random.Generator,
    pop: Population,
    f: PartyFields,
    cust_id: np.ndarray,
    updated: np.ndarray,
    seed: int,
    as_of: date,
) -> pd.DataFrame:
    """Every document of every customer, one row each: the one the record was opened with
    (primary; none where the record's number is missing), then the others kept on file."""
    n = len(f)
    real = f.person >= 0
    p = np.maximum(f.person, 0)
    today = np.datetime64(as_of, "D")
    primary = np.flatnonzero(pd.notna(f.cert_no) & (f.cert_no != ""))
    passport_primary = f.cert_type == "02"
    resident = real & ~passport_primary
    old = np.flatnonzero(
        resident
        & (pop.birth[p] < FIFTEEN_DIGIT_BORN_BEFORE)
        & (pd.Series(f.cert_no, dtype=object).str.len().to_numpy() == 18)
        & _hits(rng, n, OLD_ID15_KEPT)
    )
    register = np.flatnonzero(resident & _hits(rng, n, HOUSEHOLD_REGISTER))
    passport = np.flatnonzero(resident & _hits(rng, n, EXTRA_PASSPORT))
    permit = np.flatnonzero(permit_holders(rng, pop, f, "cbs", seed))
    other = np.flatnonzero(real & _hits(rng, n, OTHER_PAPERS))

    age = ((today - pop.birth[p]).astype(np.int64) // 365).astype(np.int64)
    long_term = np.full(n, "99991231", dtype=object)
    expires = fmt_date(today + rng.integers(30, 20 * 365, n).astype("timedelta64[D]"), "compact")
    resident_expiry = np.where(age >= LONG_TERM_ID_AGE, long_term, expires)
    replaced = np.datetime64("2004-01-01") + rng.integers(0, 9 * 365, n).astype("timedelta64[D]")
    travel_expiry = fmt_date(
        today + rng.integers(60, 10 * 365, n).astype("timedelta64[D]"), "compact"
    )
    parts = [
        (
            primary,
            np.where(passport_primary[primary], "201", "101").astype(object),
            f.cert_no[primary],
            np.where(passport_primary[primary], travel_expiry[primary], resident_expiry[primary]),
            "1",
        ),
        (
            old,
            "101",
            idcards.to_fifteen(idcards.matrix_from_strings(pop.id18[p[old]])),
            fmt_date(replaced[old], "compact"),
            "0",
        ),
        (register, "103", pop.id18[p[register]], None, "0"),
        (passport, "201", pop.passports(p[passport]), travel_expiry[passport], "0"),
        (permit, "301", permit_numbers(pop, p[permit], seed), travel_expiry[permit], "0"),
        (other, "999", other_papers(rng, len(other)), None, "0"),
    ]
    rows = np.concatenate([part[0] for part in parts])
    rank = np.concatenate([np.full(len(part[0]), k) for k, part in enumerate(parts)])

    def column(i: int) -> np.ndarray:
        return np.concatenate(
            [np.broadcast_to(np.asarray(part[i], dtype=object), len(part[0])) for part in parts]
        )

    order = np.lexsort((rank, rows))
    rows = rows[order]
    seq = pd.Series(rows).groupby(rows).cumcount().to_numpy() + 1
    frame = pd.DataFrame(
        {
            "CUST_ID": cust_id[rows],
            "CERT_SEQ_NO": seq,
            "CERT_TP_CD": column(1)[order],
            "CERT_NO": column(2)[order],
            "CERT_EXP_DT": column(3)[order],
            "PRIM_CERT_FLG": column(4)[order],
            "UPD_TM": fmt_ts(updated[rows], "space"),
        }
    )
    return frame[_columns("T_CUST_CERT")]


# The credit-card system ---------------------------------------------------------------------


def card_holders(
    pop: Population, holdings: dict[str, Holdings], noise: NoiseConfig, seed: int, as_of: date
) -> Customers:
    rng, f, since, branch = _records(pop, holdings, "card", noise, seed, as_of)
    n = len(f)
    real = f.person >= 0
    p = np.maximum(f.person, 0)
    # The credit kind's pinyin names were typed into the only name field there was: after
    # the latin column came, the Chinese one stayed empty for them.
    latin = real & pd.Series(f.name, dtype=object).str.contains("[A-Za-z]", na=False).to_numpy()
    name_cn = set_missing(f.name, latin | (real & _hits(rng, n, CARD_CN_NAME_EMPTY)))
    name_en = np.full(n, None, dtype=object)
    surname, given = (
        names.surname_pinyin(pop.surname[p[real]]),
        names.given_pinyin(pop.given[p[real]]),
    )
    name_en[real] = np.strings.upper(cat(surname, " ", given).astype(str)).astype(object)

    id_type = set_missing(np.full(n, "I", dtype=object), pd.isna(f.cert_no))
    id_no = f.cert_no.copy()
    passport = np.flatnonzero(real & _hits(rng, n, CARD_PASSPORT))
    id_type[passport], id_no[passport] = "P", pop.passports(p[passport])
    permit = np.flatnonzero(permit_holders(rng, pop, f, "card", seed))
    id_type[permit], id_no[permit] = "H", permit_numbers(pop, p[permit], seed)
    id_type[(id_type == "I") & _hits(rng, n, CARD_TYPE_UNKNOWN)] = "Z"

    frame = pd.DataFrame(
        {
            "cardholder_no": cat("CH", zpad(sequential_ids(rng, n, 3_000_000_000), 10)),
            "name_cn": name_cn,
            "name_en": name_en,
            "id_type": id_type,
            "id_no": id_no,
            "sex": _missing_genders(
                rng,
                render_gender(f.gender, "M", "F"),
                ("U", "0"),
                (1 - UNKNOWN_GENDER_ZERO, UNKNOWN_GENDER_ZERO),
            ),
            "birth_date": fmt_date(f.birth, "compact"),
            "mobile": f.phone,
            "email": _emails(rng, pop, p, real),
            "bill_address": f.address,
            "issue_branch": org_codes(branch),
            "card_product": _pick(rng, CARD_PRODUCTS, CARD_PRODUCT_P, n),
            "last_modified": _stamp(
                update_times(rng, since, f.stale, as_of), np.zeros(n), "iso_offset"
            ),
        }
    )
    return Customers("card", frame[_columns("cc_holder")], f.person, since, branch)


def _emails(
    rng: np.random.Generator, pop: Population, p: np.ndarray, real: np.ndarray
) -> np.ndarray:
    """An e-mail for some holders: pinyin and digits at a mail provider, digits at qq.com; a
    few typed with capitals."""
    n = len(p)
    out = np.full(n, None, dtype=object)
    rows = np.flatnonzero(real & _hits(rng, n, EMAIL_SHARE))
    person = p[rows]
    domain = _pick(rng, EMAIL_DOMAINS, EMAIL_DOMAIN_P, len(rows))
    spelled = cat(names.surname_pinyin(pop.surname[person]), names.given_pinyin(pop.given[person]))
    year = pd.Series(pop.birth[person]).dt.year.to_numpy() % 100
    local = cat(spelled, zpad(year, 2))
    qq = domain == "qq.com"
    local[qq] = num(rng.integers(10**5, 10**10, int(qq.sum())))
    capital = _hits(rng, len(rows), 0.05)
    local[capital] = pd.Series(local[capital], dtype=object).str.capitalize().to_numpy()
    out[rows] = cat(local, "@", domain)
    return out


# The wealth-management branch system ----------------------------------------------------------


def wealth_managers(seed: int) -> pd.DataFrame:
    """The demo's relationship managers under this bank's staff numbers (WM_RM's rows, with the
    demo's branch codes still in 所属网点 for the assignment)."""
    managers = relationship_managers(bank_seed(seed, "wealth"))
    managers["客户经理编号"] = staff_ids(managers["客户经理编号"].to_numpy(dtype=object))
    return managers


def wealth_customers(
    pop: Population,
    holdings: dict[str, Holdings],
    managers: pd.DataFrame,
    noise: NoiseConfig,
    seed: int,
    as_of: date,
) -> Customers:
    rng, f, since, branch = _records(pop, holdings, "wealth", noise, seed, as_of)
    n = len(f)
    real = f.person >= 0
    p = np.maximum(f.person, 0)
    id_type = set_missing(np.full(n, "身份证", dtype=object), pd.isna(f.cert_no))
    id_no = f.cert_no.copy()
    permit = np.flatnonzero(permit_holders(rng, pop, f, "wealth", seed))
    id_type[permit], id_no[permit] = "回乡证", permit_numbers(pop, p[permit], seed)
    taken = np.isin(np.arange(n), permit)
    for word, rate, numbers in (
        ("护照", WEALTH_PASSPORT, lambda idx: pop.passports(p[idx])),
        ("其他证件", WEALTH_OTHER, lambda idx: other_papers(rng, len(idx))),
    ):
        rows = np.flatnonzero(real & ~taken & _hits(rng, n, rate))
        id_type[rows], id_no[rows] = word, numbers(rows)
        taken[rows] = True
    id_type[(id_type == "身份证") & _hits(rng, n, WEALTH_TYPE_UNKNOWN)] = "未知"
    birth = np.full(n, None, dtype=object)
    known = ~np.isnat(f.birth)
    birth[known] = f.birth[known].astype("datetime64[D]").astype(object)  # Excel date cells
    updated = update_times(rng, since, f.stale, as_of)
    frame = pd.DataFrame(
        {
            "客户号": cat("WM", zpad(sequential_ids(rng, n, 20_000_000), 8)),
            "客户姓名": f.name,
            "证件类型": id_type,
            "证件号码": id_no,
            "性别": _missing_genders(
                rng, render_gender(f.gender, "男", "女"), ("未知", None), (0.6, 0.4)
            ),
            "出生日期": birth,
            "手机号码": f.phone,
            "联系地址": f.address,
            "客户经理": assign_managers(rng, branch, managers),
            "归属机构": org_codes(branch),
            "风险等级": _pick(rng, RISK_LEVELS, RISK_LEVEL_P, n),
            "最后修改时间": _stamp(updated, _micros(rng, n), "micro_offset"),
        }
    )
    return Customers("wealth", frame[_columns("WM_CUST")], f.person, since, branch)


# The mobile-banking export ------------------------------------------------------------------


def mbank_users(
    pop: Population, holdings: dict[str, Holdings], noise: NoiseConfig, seed: int, as_of: date
) -> Customers:
    rng, f, since, branch = _records(pop, holdings, "mbank", noise, seed, as_of)
    n = len(f)
    real = f.person >= 0
    name = set_missing(f.name, real & ~_hits(rng, n, MBANK_NAME_GIVEN))
    head = np.array(MBANK_MASK_HEAD)[rng.choice(len(MBANK_MASK_HEAD), size=n, p=MBANK_MASK_HEAD_P)]
    registered = _daytime(rng, since)
    # The last login is within the last 400 days, and never before the registration.
    login = end_of_day(as_of) - rng.integers(0, 400 * 86_400, n).astype("timedelta64[s]")
    login = np.maximum(login, registered)
    frame = pd.DataFrame(
        {
            "userId": cat("U", zpad(sequential_ids(rng, n, 6_000_000_000), 10)),
            "realName": name,
            "certNoMasked": masked_ids(f.cert_no, head),
            "regMobile": _registered_mobiles(rng, pop, f, noise, seed),
            "regTime": fmt_ts(registered, "space"),
            "lastLoginTime": _stamp(login, _micros(rng, n), "millis_offset"),
            "updateTime": _stamp(
                np.maximum(update_times(rng, since, f.stale, as_of), registered),
                _micros(rng, n),
                "millis_offset",
            ),
            "deviceOs": _pick(rng, DEVICES, DEVICE_P, n),
        }
    )
    return Customers("mbank", frame[_columns("mb_user")], f.person, since, branch)


def masked_ids(numbers: np.ndarray, head: np.ndarray) -> np.ndarray:
    """IDs as the app shows them: the first `head` and the last four characters kept, the
    rest starred (`130***********1234`); a short number (a passport) keeps one and three."""
    out = np.full(len(numbers), None, dtype=object)
    for i, (value, keep) in enumerate(zip(numbers, head, strict=True)):
        if value is None or value != value or value == "":
            continue
        text = str(value)
        first, last = (int(keep), MBANK_TAIL) if len(text) >= 15 else (1, 3)
        hidden = len(text) - first - last
        # A number too short to hide anything behind the kept ends is hidden whole.
        out[i] = text[:first] + "*" * hidden + text[-last:] if hidden > 0 else "*" * len(text)
    return out


def _registered_mobiles(
    rng: np.random.Generator, pop: Population, f: PartyFields, noise: NoiseConfig, seed: int
) -> np.ndarray:
    """The number the user registered with: confirmed by SMS, so a real mobile, mostly the
    current one and in E.164; some who also live in Hong Kong or Macao registered with their
    number there. A second registration of the same person is with the other number."""
    n = len(f)
    real = f.person >= 0
    p = np.maximum(f.person, 0)
    stale = _hits(rng, n, noise.for_system(NOISE_KIND["mbank"]).stale_rate)
    has_second = np.isin(f.person, f.person[f.duplicate]) & ~f.duplicate
    old = np.where(f.duplicate, True, stale & ~has_second)
    mobile = num(np.where(old, pop.old_mobile[p], pop.mobile[p]))
    style = rng.choice(3, size=n, p=(0.6, 0.3, 0.1))
    out = np.choose(style, [cat("+86", mobile), mobile, cat("+86 ", mobile)]).astype(object)
    tie = hong_kong_macao(len(pop), seed)[p]
    abroad = np.flatnonzero(real & (tie != NOT_HK_MACAO) & _hits(rng, n, HONG_KONG_MACAO_MOBILE))
    out[abroad] = hong_kong_macao_mobiles(p[abroad], tie[abroad], seed)
    junk = ~real
    out[junk] = f.phone[junk]
    return out


def hong_kong_macao_mobiles(index: np.ndarray, tie: np.ndarray, seed: int) -> np.ndarray:
    """A person's own Hong Kong (+852, 8 digits from 5, 6 or 9) or Macao (+853, from 66)
    mobile, written the way the app shows it: `+852 91234567`."""
    offset = int(child_rng(seed, "second-bank-hk-macao-mobiles").integers(10**6))
    local = (np.asarray(index, dtype=np.int64) * 7_919 + offset) % 10**6
    first = np.array(["5", "6", "9"], dtype=object)[np.asarray(index) % 3]
    hong_kong = cat("+852 ", first, zpad(index % 10, 1), zpad(local, 6))
    macao = cat("+853 66", zpad(local, 6))
    return np.where(tie == MACAO, macao, hong_kong).astype(object)


# Activity, re-coded from the demo's generators ------------------------------------------------


def _as(customers: Customers, key: str, **columns: np.ndarray) -> Customers:
    """The same customers with their key under the column name a demo generator reads."""
    frame = pd.DataFrame({key: customers.frame[PARTY_TABLES[customers.system][1]], **columns})
    return Customers(customers.system, frame, customers.person, customers.since, customers.branch)


def _recode(values: pd.Series, codes: Mapping[str, str]) -> np.ndarray:
    return values.map(codes).to_numpy(dtype=object)


def _compact(iso: pd.Series) -> np.ndarray:
    return iso.str.replace("-", "", regex=False).to_numpy(dtype=object)


def cbs_accounts(cbs: Customers, seed: int, as_of: date) -> pd.DataFrame:
    rng = child_rng(bank_seed(seed, "cbs"), "cbs-accounts")
    demo = deposit_accounts(_as(cbs, "cust_no"), bank_seed(seed, "cbs"), as_of)
    status = demo["status"].copy()
    status[(status == "ACTIVE") & _hits(rng, len(status), FROZEN)] = "FROZEN"
    frame = pd.DataFrame(
        {
            "ACCT_NO": demo["acct_no"],
            "CUST_ID": demo["cust_no"],
            "ACCT_TP_CD": _recode(demo["acct_type"], ACCOUNT_TYPES),
            "PROD_CD": demo["product_cd"],
            "CCY_CD": demo["currency"],
            "ACCT_BAL": demo["balance"],
            "OPEN_DT": _compact(demo["open_dt"]),
            "MATU_DT": _compact(demo["maturity_dt"]),
            "OPEN_ORG_NO": org_codes(demo["branch_no"].to_numpy(dtype=object)),
            "ACCT_STAT_CD": _recode(status, ACCOUNT_STATUSES),
            "UPD_TM": demo["last_upd_ts"],
        }
    )
    return frame[_columns("T_DPST_ACCT")]


def cbs_loans(cbs: Customers, seed: int, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """T_LOAN_APPL and T_LOAN_CONTR of the core's borrowers (BORROWER_SHARE of its customers)."""
    rng = child_rng(bank_seed(seed, "cbs"), "cbs-borrowers")
    borrower = np.flatnonzero(_hits(rng, len(cbs.person), BORROWER_SHARE))
    subset = Customers(
        "cbs",
        cbs.frame.iloc[borrower].reset_index(drop=True),
        cbs.person[borrower],
        cbs.since[borrower],
        cbs.branch[borrower],
    )
    apps, loan = loans(_as(subset, "BORROWER_ID"), bank_seed(seed, "cbs"), as_of)
    applications = pd.DataFrame(
        {
            "APPL_NO": apps["APP_ID"].str.replace("LA", "AP", regex=False),
            "CUST_ID": apps["BORROWER_ID"],
            "LOAN_PROD_CD": _recode(apps["PRODUCT"], LOAN_PRODUCTS),
            "APPL_AMT": apps["AMOUNT"],
            "ACPT_ORG_NO": org_codes(apps["BRANCH_NO"].to_numpy(dtype=object)),
            "APPL_TM": apps["SUBMITTED_AT"],
            "PRE_AUDIT_TM": apps["PRE_REVIEW_AT"],
            "CRDT_AUDIT_TM": apps["CREDIT_REVIEW_AT"],
            "APRV_TM": apps["APPROVED_AT"],
            "DSBR_TM": apps["DISBURSED_AT"],
            "APPL_STAT_CD": _recode(apps["STATUS"], APPLICATION_STATUSES),
        }
    )
    contracts = pd.DataFrame(
        {
            "CONTR_NO": loan["LOAN_ID"].str.replace("LN", "HT", regex=False),
            "APPL_NO": loan["APP_ID"].str.replace("LA", "AP", regex=False),
            "CUST_ID": loan["BORROWER_ID"],
            "CONTR_AMT": loan["PRINCIPAL"],
            "LOAN_BAL": loan["OUTSTANDING"],
            "EXEC_RATE": loan["RATE"],
            "START_DT": _compact(loan["START_DATE"]),
            "MATU_DT": _compact(loan["END_DATE"]),
            "FIVE_CLS_CD": _recode(loan["FIVE_TIER"], FIVE_TIER_CODES),
            "MGMT_ORG_NO": org_codes(loan["BRANCH_NO"].to_numpy(dtype=object)),
        }
    )
    return applications[_columns("T_LOAN_APPL")], contracts[_columns("T_LOAN_CONTR")]


def wealth_tickets(wealth: Customers, seed: int, as_of: date) -> pd.DataFrame:
    shim = _as(wealth, "客户编号", 客户经理=wealth.frame["客户经理"].to_numpy(dtype=object))
    demo = service_tickets(shim, bank_seed(seed, "wealth"), as_of)

    def offset(column: str) -> np.ndarray:
        text = demo[column].to_numpy(dtype=object)
        known = pd.notna(text)
        text[known] = cat(text[known], "+08")
        return text

    frame = pd.DataFrame(
        {
            "工单号": demo["工单编号"].str.replace("T", "GD", regex=False),
            "客户号": demo["客户编号"],
            "受理渠道": _recode(demo["渠道"], TICKET_CHANNELS),
            "工单类型": _recode(demo["类别"], TICKET_CATEGORIES),
            "创建时间": offset("创建时间"),
            "首次响应时间": offset("首次响应时间"),
            "办结时间": offset("解决时间"),
            "满意度": pd.to_numeric(demo["满意度"]).astype("Int64"),
            "处理人": demo["客户经理"],
            "归属机构": org_codes(demo["所属网点"].to_numpy(dtype=object)),
            "工单状态": _recode(demo["状态"], TICKET_STATUSES),
        }
    )
    return frame[_columns("WM_SVC_TICKET")]


def wealth_rm_table(managers: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = child_rng(bank_seed(seed, "wealth"), "wealth-rm")
    frame = pd.DataFrame(
        {
            "员工号": managers["客户经理编号"],
            "员工姓名": managers["姓名"],
            "所属机构": org_codes(managers["所属网点"].to_numpy(dtype=object)),
            "机构名称": managers["网点名称"],
            "岗位": _pick(rng, ("理财经理", "客户经理"), (0.6, 0.4), len(managers)),
        }
    )
    return frame[_columns("WM_RM")]


def _columns(table: str) -> list[str]:
    if table in CBS_TABLES:
        return [c for c, _, _ in CBS_TABLES[table]]
    return list(FILE_COLUMNS[table])


# The whole bank -----------------------------------------------------------------------------


def parse_activity(activity: Collection[str] | str | None) -> tuple[str, ...]:
    """The activity names asked for, in ACTIVITY's order; refuses an unknown one, naming it."""
    if activity is None:
        return ()
    given = [a.strip() for a in activity.split(",")] if isinstance(activity, str) else activity
    wanted = {a for a in given if a}
    unknown = sorted(wanted - set(ACTIVITY))
    if unknown:
        raise ValueError(f"unknown activity {unknown}; known: {', '.join(ACTIVITY)}")
    return tuple(a for a in ACTIVITY if a in wanted)


def simulate_second_bank(
    out_dir: Path,
    people: int,
    seed: int,
    as_of: date,
    noise: NoiseConfig,
    profile: str | Path | None,
    activity: Collection[str] | str | None = None,
) -> dict[str, Any]:
    """Write the second bank's four systems, the ground truth, people.parquet and the manifest
    into `out_dir`; return the manifest. `activity` names the activity tables to add."""
    wanted = parse_activity(activity)
    out = Path(out_dir)
    for folder in (CARD_DIR, WEALTH_DIR, MBANK_DIR):
        (out / folder).mkdir(parents=True, exist_ok=True)
    # A rerun into the same folder with fewer activity tables must not leave the old ones.
    for name, (system, table) in ACTIVITY.items():
        if system == "wealth" and name not in wanted:
            (out / WEALTH_DIR / f"{table}.xlsx").unlink(missing_ok=True)

    pop = generate_population(people, seed, noise)
    write_people(out / PEOPLE_FILE, pop.attributes())
    holdings = assign_holdings(people, seed, noise)
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, Any] = {}
    truth: list[pd.DataFrame] = []

    cbs, certificates = cbs_customers(pop, holdings, noise, seed, as_of)
    cbs_tables = {"T_CUST_BASE": cbs.frame, "T_CUST_CERT": certificates}
    if "accounts" in wanted:
        cbs_tables["T_DPST_ACCT"] = cbs_accounts(cbs, seed, as_of)
    if "loan_applications" in wanted or "loans" in wanted:
        applications, contracts = cbs_loans(cbs, seed, as_of)
        if "loan_applications" in wanted:
            cbs_tables["T_LOAN_APPL"] = applications
        if "loans" in wanted:
            cbs_tables["T_LOAN_CONTR"] = contracts
    write_sqlite(
        out / CBS_FILE,
        cbs_tables,
        {t: CBS_TABLES[t] for t in cbs_tables},
        tuple(ix for ix in CBS_INDEXES if ix[0] in cbs_tables),
    )
    counts["cbs"] = {t: len(frame) for t, frame in cbs_tables.items()}
    files["cbs"] = CBS_FILE
    truth.append(cbs.ground_truth(pop, PARTY_TABLES["cbs"][1]))
    del cbs, certificates, cbs_tables

    card = card_holders(pop, holdings, noise, seed, as_of)
    write_csv(out / CARD_DIR / "cc_holder.csv", card.frame, CARD_ENCODING)
    counts["card"] = {"cc_holder": len(card.frame)}
    files["card"] = [f"{CARD_DIR}/cc_holder.csv"]
    truth.append(card.ground_truth(pop, PARTY_TABLES["card"][1]))
    del card

    managers = wealth_managers(seed)
    wealth = wealth_customers(pop, holdings, managers, noise, seed, as_of)
    wealth_tables = {"WM_CUST": wealth.frame}
    if "tickets" in wanted:
        wealth_tables["WM_SVC_TICKET"] = wealth_tickets(wealth, seed, as_of)
    if "relationship_managers" in wanted:
        wealth_tables["WM_RM"] = wealth_rm_table(managers, seed)
    for table, frame in wealth_tables.items():
        write_xlsx(
            out / WEALTH_DIR / f"{table}.xlsx",
            frame,
            sheet=WEALTH_SHEET,
            notes_sheet=WEALTH_NOTES_SHEET,
            notes=(
                ("导出系统", "财富管理系统"),
                ("数据日期", as_of.isoformat()),
                ("记录数", str(len(frame))),
                ("数据所在工作表", WEALTH_SHEET),
            ),
        )
    counts["wealth"] = {t: len(frame) for t, frame in wealth_tables.items()}
    files["wealth"] = [f"{WEALTH_DIR}/{t}.xlsx" for t in wealth_tables]
    truth.append(wealth.ground_truth(pop, PARTY_TABLES["wealth"][1]))
    del wealth, wealth_tables

    mbank = mbank_users(pop, holdings, noise, seed, as_of)
    write_csv(out / MBANK_DIR / "mb_user.csv", mbank.frame, MBANK_ENCODING)
    counts["mbank"] = {"mb_user": len(mbank.frame)}
    files["mbank"] = [f"{MBANK_DIR}/mb_user.csv"]
    truth.append(mbank.ground_truth(pop, PARTY_TABLES["mbank"][1]))
    del mbank

    ground_truth = pd.concat(truth, ignore_index=True)
    write_ground_truth(out / GROUND_TRUTH_FILE, ground_truth)
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
        "shape": SHAPE,
        "activity": list(wanted),
        "files": {**files, "ground_truth": GROUND_TRUTH_FILE, "people": PEOPLE_FILE},
        "encodings": {"card": CARD_ENCODING, "mbank": MBANK_ENCODING},
        "sheets": {"wealth": WEALTH_SHEET},
    }
    write_manifest(out / MANIFEST_FILE, manifest)
    return manifest
