"""The second bank shape: four systems unlike the demo's, the same people, its own codes."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from connectors.config import SourceConfig
from connectors.simulated import NoiseConfig, idcards, second_bank, simulate
from connectors.simulated.schema import GROUND_TRUTH_FILE, MANIFEST_FILE, PEOPLE_FILE
from connectors.simulated.second_bank import (
    CARD_DIR,
    CARD_ENCODING,
    CBS_FILE,
    CBS_TABLES,
    FILE_COLUMNS,
    MBANK_DIR,
    MBANK_ENCODING,
    PARTY_TABLES,
    WEALTH_DIR,
    WEALTH_NOTES_SHEET,
    WEALTH_SHEET,
)
from connectors.sources import find_file, read_file_table, read_sql_table
from pipelines.cli import main
from pipelines.mdm_config import load_config

PEOPLE = 600
SEED = 11
AS_OF = date(2026, 11, 28)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "second_bank"
ACTIVITY_VARIANT = ("accounts", "tickets")  # what examples/second_bank/mdm_activity.yaml maps


def load(out: Path) -> dict[str, pd.DataFrame]:
    """Every table of a second-bank output by `system.table`, as its files hold it."""
    tables: dict[str, pd.DataFrame] = {}
    with closing(sqlite3.connect(out / CBS_FILE)) as con:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in names:
            tables[f"cbs.{table}"] = pd.read_sql(f'SELECT * FROM "{table}"', con)
    tables["card.cc_holder"] = pd.read_csv(
        out / CARD_DIR / "cc_holder.csv", dtype=str, encoding=CARD_ENCODING
    )
    for path in sorted((out / WEALTH_DIR).glob("*.xlsx")):
        tables[f"wealth.{path.stem}"] = pd.read_excel(path, sheet_name=WEALTH_SHEET, dtype=str)
    tables["mbank.mb_user"] = pd.read_csv(
        out / MBANK_DIR / "mb_user.csv", dtype=str, encoding=MBANK_ENCODING
    )
    return tables


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("second_bank")
    simulate(folder, people=PEOPLE, seed=SEED, as_of=AS_OF, shape="second_bank")
    return folder


@pytest.fixture(scope="module")
def tables(out: Path) -> dict[str, pd.DataFrame]:
    return load(out)


@pytest.fixture(scope="module")
def truth(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / GROUND_TRUTH_FILE)


@pytest.fixture(scope="module")
def people(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / PEOPLE_FILE).set_index("person_id")


@pytest.fixture(scope="module")
def activity_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("second_bank_activity")
    simulate(
        folder,
        people=PEOPLE,
        seed=SEED,
        as_of=AS_OF,
        shape="second_bank",
        activity=",".join(ACTIVITY_VARIANT),
    )
    return folder


def with_person(frame: pd.DataFrame, system: str, truth: pd.DataFrame) -> pd.DataFrame:
    """The party table with each row's person_id (None for junk rows)."""
    key = PARTY_TABLES[system][1]
    person = truth.set_index("record_key")["person_id"]
    return frame.assign(person_id=(system + ":" + frame[key]).map(person).to_numpy())


# Determinism and the people -----------------------------------------------------------------


def test_same_seed_writes_the_same_bank(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", people=300, seed=5, shape="second_bank", activity="loans")
    second = simulate(tmp_path / "b", people=300, seed=5, shape="second_bank", activity="loans")
    assert first == second
    a, b = load(tmp_path / "a"), load(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    simulate(tmp_path / "c", people=300, seed=6, shape="second_bank")
    other = load(tmp_path / "c")
    assert not other["cbs.T_CUST_CERT"]["CERT_NO"].equals(a["cbs.T_CUST_CERT"]["CERT_NO"])


def test_the_people_are_the_demos_people(tmp_path: Path, out: Path) -> None:
    simulate(tmp_path / "demo", people=PEOPLE, seed=SEED, as_of=AS_OF)
    assert (tmp_path / "demo" / PEOPLE_FILE).read_bytes() == (out / PEOPLE_FILE).read_bytes()


def test_the_demo_refuses_activity_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="second_bank"):
        simulate(tmp_path, people=50, activity="accounts")
    with pytest.raises(ValueError, match="unknown activity"):
        simulate(tmp_path, people=50, shape="second_bank", activity="accounts,deposits")
    with pytest.raises(ValueError, match="unknown shape"):
        simulate(tmp_path, people=50, shape="third_bank")


# Files, tables, columns ---------------------------------------------------------------------


def test_customer_tables_only_by_default(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    assert sorted(tables) == [
        "card.cc_holder",
        "cbs.T_CUST_BASE",
        "cbs.T_CUST_CERT",
        "mbank.mb_user",
        "wealth.WM_CUST",
    ]
    for name, frame in tables.items():
        table = name.split(".", 1)[1]
        layout = CBS_TABLES.get(table)
        expected = [c for c, _, _ in layout] if layout else list(FILE_COLUMNS[table])
        assert list(frame.columns) == expected, name
        assert len(frame) > 0, name
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["shape"] == "second_bank"
    assert manifest["activity"] == []
    assert manifest["row_counts"] == {
        system: {t.split(".", 1)[1]: len(f) for t, f in tables.items() if t.startswith(system)}
        for system in second_bank.SYSTEMS
    }


def test_the_exports_are_written_the_way_each_system_writes(out: Path) -> None:
    assert (out / MBANK_DIR / "mb_user.csv").read_bytes().startswith(b"\xef\xbb\xbfuserId,")
    assert (out / CARD_DIR / "cc_holder.csv").read_bytes().startswith(b"cardholder_no,")
    with closing(sqlite3.connect(out / CBS_FILE)) as con:
        declared = {r[1]: r[2] for r in con.execute("PRAGMA table_info(T_CUST_CERT)")}
    assert declared["CERT_SEQ_NO"] == "INTEGER"


def test_the_wealth_data_sit_on_a_named_sheet_that_is_not_the_first(out: Path) -> None:
    path = out / WEALTH_DIR / "WM_CUST.xlsx"
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [WEALTH_NOTES_SHEET, WEALTH_SHEET]
    first = pd.read_excel(path, sheet_name=0, dtype=str, header=None)
    assert "客户号" not in set(first.to_numpy().ravel())
    data = book[WEALTH_SHEET]
    header = [c.value for c in next(data.iter_rows(min_row=1, max_row=1))]
    birth = header.index("出生日期")
    cells = [row[birth] for row in data.iter_rows(min_row=2, max_row=50)]
    assert any(cell.is_date for cell in cells)  # real date cells, not text
    assert all(cell.is_date for cell in cells if cell.value is not None)


# The core's documents -----------------------------------------------------------------------


def test_documents_are_one_to_many(tables: dict[str, pd.DataFrame]) -> None:
    base, certs = tables["cbs.T_CUST_BASE"], tables["cbs.T_CUST_CERT"]
    assert set(certs["CUST_ID"]) <= set(base["CUST_ID"])
    per_customer = certs.groupby("CUST_ID").size()
    assert (per_customer >= 2).sum() >= 0.15 * len(base)
    assert (per_customer >= 3).any()
    assert not certs.duplicated(["CUST_ID", "CERT_SEQ_NO"]).any()
    assert (certs.groupby("CUST_ID")["PRIM_CERT_FLG"].apply(lambda f: (f == "1").sum()) <= 1).all()
    assert set(certs["CERT_TP_CD"]) == {"101", "103", "201", "301", "999"}


def test_a_customer_keeps_the_old_15_digit_id_beside_the_18_digit_one(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame, people: pd.DataFrame
) -> None:
    certs = tables["cbs.T_CUST_CERT"]
    old = certs[(certs["CERT_TP_CD"] == "101") & (certs["CERT_NO"].str.len() == 15)]
    old = old[old["PRIM_CERT_FLG"] == "0"]
    assert len(old) >= 20
    person = truth.set_index("record_key")["person_id"]
    true_id = people.loc[("cbs:" + old["CUST_ID"]).map(person), "id_number"].to_numpy()
    fifteen = idcards.to_fifteen(idcards.matrix_from_strings(true_id))
    assert (old["CERT_NO"].to_numpy() == fifteen).all()
    assert (old["CERT_EXP_DT"] < AS_OF.strftime("%Y%m%d")).all()  # replaced, so expired


def test_permits_and_passports_are_the_persons_own_in_every_system(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    certs = tables["cbs.T_CUST_CERT"].assign(CUST_ID=lambda f: "cbs:" + f["CUST_ID"])
    person = truth.set_index("record_key")["person_id"]
    permits = certs[certs["CERT_TP_CD"] == "301"]
    assert permits["CERT_NO"].str.fullmatch(r"[HM]\d{8}").all()
    assert set(certs.loc[certs["CERT_TP_CD"] == "201", "CERT_NO"].str[0]) == {"E"}
    card = with_person(tables["card.cc_holder"], "card", truth)
    documents = pd.concat(
        [
            pd.DataFrame({"person": certs["CUST_ID"].map(person), "no": certs["CERT_NO"]}),
            card.loc[card["id_type"].isin(["H", "P"]), ["person_id", "id_no"]].set_axis(
                ["person", "no"], axis=1
            ),
        ]
    ).dropna()
    foreign = documents[documents["no"].str.fullmatch(r"[EHM]\d{8}")]
    assert foreign.groupby("no")["person"].nunique().max() == 1  # never shared between people


# The card system ----------------------------------------------------------------------------


def test_card_holders_have_latin_names_and_sometimes_no_chinese_one(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame, people: pd.DataFrame
) -> None:
    card = with_person(tables["card.cc_holder"], "card", truth)
    real = card[card["person_id"].notna()]
    assert real["name_en"].str.fullmatch(r"[A-Z]+ [A-Z]+").all()
    spelled = people.loc[real["person_id"], "name_pinyin"].str.replace(" ", "").to_numpy()
    assert (real["name_en"].str.replace(" ", "").str.lower().to_numpy() == spelled).all()
    empty = real["name_cn"].isna().mean()
    assert 0.08 <= empty <= 0.3


def test_card_codes_are_the_card_systems_own(tables: dict[str, pd.DataFrame]) -> None:
    card = tables["card.cc_holder"]
    assert set(card["sex"].dropna()) == set(second_bank.CARD_GENDERS)
    assert set(card["id_type"].dropna()) <= set(second_bank.CARD_ID_TYPES)
    assert {"I", "P", "Z"} <= set(card["id_type"].dropna())
    assert card.loc[card["id_type"] == "P", "id_no"].str.fullmatch(r"E\d{8}").all()
    assert card["email"].dropna().str.fullmatch(r"[A-Za-z0-9]+@[a-z0-9.]+").all()


# The mobile-banking export ------------------------------------------------------------------


def test_mobile_banking_ids_are_masked_and_names_mostly_empty(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    users = with_person(tables["mbank.mb_user"], "mbank", truth)
    real = users[users["person_id"].notna()]
    masked = real["certNoMasked"].dropna()
    long = masked[masked.str.len() >= 15]
    assert len(long) > 0.8 * len(real)
    # Full-width digits (an input method's) stay full-width behind the mask.
    assert long.str.fullmatch(r"[0-9０-９]{3,6}\*{5,12}[0-9０-９]{3}[0-9０-９XxＸｘ]").all()
    assert (
        long.map(lambda v: len(v) - len(v.lstrip("0123456789０１２３４５６７８９")))
        .isin([3, 4, 6])
        .all()
    )
    assert (long.str.len().isin([15, 18])).all()
    assert real["realName"].notna().mean() < 0.3


def test_mobile_banking_mobiles_include_hong_kong_and_macao(
    tables: dict[str, pd.DataFrame],
) -> None:
    mobiles = tables["mbank.mb_user"]["regMobile"].dropna()
    assert mobiles.str.startswith("+852 ").any()
    assert mobiles.str.startswith("+86").mean() > 0.5
    abroad = mobiles[mobiles.str.startswith(("+852", "+853"))]
    assert abroad.str.fullmatch(r"\+852 [569]\d{7}|\+853 66\d{6}").all()


# Timestamps ---------------------------------------------------------------------------------


def test_timestamps_carry_fractions_and_utc_offsets(tables: dict[str, pd.DataFrame]) -> None:
    wealth = tables["wealth.WM_CUST"]["最后修改时间"]
    assert wealth.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+08").all()
    mbank = tables["mbank.mb_user"]["updateTime"]
    assert mbank.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00").all()
    card = tables["card.cc_holder"]["last_modified"]
    assert card.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    core = tables["cbs.T_CUST_BASE"]["UPD_TM"]
    assert core.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}").all()
    latest = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    for stamps in (wealth, mbank, card, core):
        local = pd.to_datetime(stamps.str.replace(r"\+08(:00)?$", "", regex=True), format="ISO8601")
        assert (local < latest).all()


# Ground truth -------------------------------------------------------------------------------


def test_ground_truth_keys_are_the_generated_records_keys(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame, people: pd.DataFrame
) -> None:
    keys = {
        f"{system}:{key}"
        for system, (table, column) in PARTY_TABLES.items()
        for key in tables[f"{system}.{table}"][column]
    }
    assert truth["record_key"].is_unique
    assert set(truth["record_key"]) == keys
    assert set(truth["person_id"].dropna()) <= set(people.index)
    assert truth["person_id"].isna().any()  # junk rows are nobody
    assert truth["person_id"].nunique() == len(people)  # everybody is somebody's customer


# The activity variant -----------------------------------------------------------------------


def test_the_activity_variant_writes_only_the_tables_asked_for(activity_out: Path) -> None:
    tables = load(activity_out)
    assert sorted(tables) == [
        "card.cc_holder",
        "cbs.T_CUST_BASE",
        "cbs.T_CUST_CERT",
        "cbs.T_DPST_ACCT",
        "mbank.mb_user",
        "wealth.WM_CUST",
        "wealth.WM_SVC_TICKET",
    ]
    assert set(tables["cbs.T_DPST_ACCT"]["CUST_ID"]) <= set(tables["cbs.T_CUST_BASE"]["CUST_ID"])
    tickets = tables["wealth.WM_SVC_TICKET"]
    assert set(tickets["客户号"]) <= set(tables["wealth.WM_CUST"]["客户号"])
    assert set(tickets["工单类型"]) == set(second_bank.TICKET_CATEGORIES.values())
    assert tickets["创建时间"].str.endswith("+08").all()
    manifest = json.loads((activity_out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["activity"] == list(ACTIVITY_VARIANT)


def test_every_activity_table_is_in_the_banks_own_codes(tmp_path: Path) -> None:
    simulate(tmp_path, people=300, seed=3, shape="second_bank", activity=list(second_bank.ACTIVITY))
    tables = load(tmp_path)
    for name, (system, table) in second_bank.ACTIVITY.items():
        assert len(tables[f"{system}.{table}"]) > 0, name
    accounts = tables["cbs.T_DPST_ACCT"]
    assert set(accounts["ACCT_STAT_CD"]) <= set(second_bank.ACCOUNT_STATUSES.values())
    applications, contracts = tables["cbs.T_LOAN_APPL"], tables["cbs.T_LOAN_CONTR"]
    assert set(contracts["APPL_NO"]) <= set(applications["APPL_NO"])
    assert set(applications["APPL_STAT_CD"]) == set(second_bank.APPLICATION_STATUSES.values())
    assert set(contracts["FIVE_CLS_CD"]) == set(second_bank.FIVE_TIER_CODES.values())
    rms = tables["wealth.WM_RM"]
    assert set(tables["wealth.WM_CUST"]["客户经理"].dropna()) <= set(rms["员工号"])


def test_a_rerun_with_fewer_activity_tables_leaves_none_of_the_old(tmp_path: Path) -> None:
    simulate(tmp_path, people=200, seed=3, shape="second_bank", activity="accounts,tickets")
    simulate(tmp_path, people=200, seed=3, shape="second_bank")
    assert sorted(load(tmp_path)) == [
        "card.cc_holder",
        "cbs.T_CUST_BASE",
        "cbs.T_CUST_CERT",
        "mbank.mb_user",
        "wealth.WM_CUST",
    ]


# The noise is the profile's -----------------------------------------------------------------


def test_the_profiles_noise_damages_this_banks_records(tmp_path: Path) -> None:
    clean_noise = NoiseConfig(
        junk_rate=0.0,
        id_typo_rate=0.0,
        old_id15_rate=0.0,
        id_transposition_rate=0.0,
        fullwidth_rate=0.0,
    )
    typo_noise = NoiseConfig(id_typo_rate=1.0, old_id15_rate=0.0, fullwidth_rate=0.0)
    simulate(tmp_path / "clean", people=300, seed=3, shape="second_bank", noise=clean_noise)
    simulate(tmp_path / "typos", people=300, seed=3, shape="second_bank", noise=typo_noise)

    def resident_ids(folder: Path) -> pd.Series:
        card = load(folder)["card.cc_holder"]
        return card.loc[card["id_type"].isin(["I", "Z"]), "id_no"].dropna()

    clean, typos = resident_ids(tmp_path / "clean"), resident_ids(tmp_path / "typos")
    assert clean.map(idcards.is_valid).all()
    assert not typos[typos.str.fullmatch(r"\d{17}[\dX]")].map(idcards.is_valid).any()
    truth = pd.read_parquet(tmp_path / "clean" / GROUND_TRUTH_FILE)
    assert truth["person_id"].notna().all()


# The example configurations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "activity"), [("mdm.yaml", ()), ("mdm_activity.yaml", ACTIVITY_VARIANT)]
)
def test_the_example_config_names_only_columns_the_sources_have(
    tmp_path: Path, config: str, activity: tuple[str, ...]
) -> None:
    # The example's own folder layout, in a temporary copy: its sources folder is generated.
    example = tmp_path / "second_bank"
    example.mkdir()
    (example / config).write_bytes((EXAMPLES / config).read_bytes())
    loaded = load_config(example / config)
    sources_dir = Path(loaded.sources["card"].path or "").parent
    simulate(sources_dir, people=150, seed=2, shape="second_bank", activity=list(activity))
    assert loaded.evaluation.ground_truth == sources_dir / GROUND_TRUTH_FILE
    for name, source in loaded.sources.items():
        for table, columns in source.required_columns().items():
            frame = _read(source, table)
            missing = sorted(set(columns) - set(frame.columns))
            assert not missing, (config, name, table, missing)
    mapped = {
        (name, entity): mapping.table
        for name, source in loaded.sources.items()
        for entity, mapping in source.entities.items()
    }
    expected = {
        "accounts": ("cbs", "account"),
        "tickets": ("wealth", "service_ticket"),
    }
    assert set(mapped) == {expected[a] for a in activity}


def _read(source: SourceConfig, table: str) -> pd.DataFrame:
    if source.connector == "sql":
        assert source.url is not None
        return next(iter(read_sql_table(source.url, table)))
    assert source.path is not None
    return read_file_table(
        find_file(source.path, table), encoding=source.encoding, sheet=source.sheet
    )


def test_the_example_configs_code_lists_cover_every_code_the_bank_writes(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "mdm_activity.yaml")
    sources = config.sources
    assert set(sources) == set(second_bank.SYSTEMS)
    cbs, card, wealth = sources["cbs"], sources["card"], sources["wealth"]
    assert cbs.identifiers is not None and cbs.identifiers.type_codes is not None
    assert set(cbs.identifiers.type_codes) == set(second_bank.CBS_CERT_TYPES)
    assert set(cbs.gender_codes or {}) == set(second_bank.CBS_GENDERS)
    assert set(card.id_type_codes or {}) == set(second_bank.CARD_ID_TYPES)
    assert set(card.gender_codes or {}) == set(second_bank.CARD_GENDERS)
    assert set(wealth.id_type_codes or {}) == set(second_bank.WEALTH_ID_TYPES)
    assert set(wealth.gender_codes or {}) == set(second_bank.WEALTH_GENDERS)
    assert card.encoding == CARD_ENCODING and sources["mbank"].encoding == MBANK_ENCODING
    assert wealth.sheet == WEALTH_SHEET
    account = cbs.entities["account"].codes
    assert set(account["account_type"]) == set(second_bank.ACCOUNT_TYPES.values())
    assert set(account["account_status"]) == set(second_bank.ACCOUNT_STATUSES.values())
    ticket = wealth.entities["service_ticket"].codes
    assert set(ticket["channel"]) == set(second_bank.TICKET_CHANNELS.values())
    assert set(ticket["category"]) == set(second_bank.TICKET_CATEGORIES.values())
    assert set(ticket["ticket_status"]) == set(second_bank.TICKET_STATUSES.values())


# The command line ---------------------------------------------------------------------------


def test_mdm_simulate_writes_the_second_bank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", "--people", "120", "--seed", "4", "--out", str(tmp_path / "bank")]
    assert main([*args, "--shape", "second_bank", "--activity", "accounts,tickets"]) == 0
    printed = capsys.readouterr().out
    assert "cbs.T_DPST_ACCT" in printed and "wealth.WM_SVC_TICKET" in printed
    assert "cbs.T_LOAN_CONTR" not in printed
    assert main([*args, "--shape", "second_bank", "--activity", "deposits"]) == 2
    assert main([*args, "--activity", "accounts"]) == 2  # the demo writes all of them
    assert "unknown activity" in capsys.readouterr().err
    assert re.findall(r"cbs\.(\w+)", printed) == ["T_CUST_BASE", "T_CUST_CERT", "T_DPST_ACCT"]
