"""The simulated source systems: contract shape, realism, trouble and mart-driving cases."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from connectors.simulated import NoiseConfig, idcards, places, schema, simulate
from connectors.simulated.population import Population, generate_population

PEOPLE = 2000
SEED = 42
AS_OF = date(2026, 11, 28)
AS_OF_END = "2026-11-28 23:59:59"
HEBEI_ADCODES = {str(a) for a in places.divisions().adcode}


def load(out: Path) -> dict[str, pd.DataFrame]:
    """Every table of a simulated output, by `system.table`, as the files hold them."""
    tables: dict[str, pd.DataFrame] = {}
    for system, file, layouts in (
        ("core", schema.CORE_FILE, schema.CORE_TABLES),
        ("credit", schema.CREDIT_FILE, schema.CREDIT_TABLES),
    ):
        with closing(sqlite3.connect(out / file)) as con:
            for table in layouts:
                tables[f"{system}.{table}"] = pd.read_sql(
                    f'SELECT * FROM "{table}" ORDER BY 1', con
                )
    for table in schema.CRM_COLUMNS:
        tables[f"crm.{table}"] = pd.read_csv(
            out / schema.CRM_DIR / f"{table}.csv", encoding="gbk", dtype=str, keep_default_na=False
        )
    tables["ground_truth"] = pd.read_parquet(out / schema.GROUND_TRUTH_FILE)
    tables["people"] = pd.read_parquet(out / schema.PEOPLE_FILE)
    return tables


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("simulated")
    simulate(folder, people=PEOPLE, seed=SEED, as_of=AS_OF)
    return folder


@pytest.fixture(scope="module")
def tables(out: Path) -> dict[str, pd.DataFrame]:
    return load(out)


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(PEOPLE, SEED, NoiseConfig())


def person_of(tables: dict[str, pd.DataFrame], system: str) -> pd.Series:
    truth = tables["ground_truth"]
    keyed = truth[truth["record_key"].str.startswith(system + ":")]
    return keyed.set_index(keyed["record_key"].str.split(":", n=1).str[1])["person_id"]


# Determinism ------------------------------------------------------------------------------


def test_same_seed_writes_identical_tables_and_manifest(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", people=400, seed=5)
    second = simulate(tmp_path / "b", people=400, seed=5)
    assert first == second
    a, b = load(tmp_path / "a"), load(tmp_path / "b")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_different_seed_writes_different_customers(tmp_path: Path) -> None:
    simulate(tmp_path / "a", people=400, seed=5)
    simulate(tmp_path / "b", people=400, seed=6)
    a, b = load(tmp_path / "a"), load(tmp_path / "b")
    assert not a["core.cif_customer"]["cert_no"].equals(b["core.cif_customer"]["cert_no"])
    assert set(a["core.cif_customer"]["cust_name"]) != set(b["core.cif_customer"]["cust_name"])


# Contract shape ---------------------------------------------------------------------------


def test_sqlite_tables_have_exactly_the_contract_columns_and_text_dates(out: Path) -> None:
    for file, layouts in (
        (schema.CORE_FILE, schema.CORE_TABLES),
        (schema.CREDIT_FILE, schema.CREDIT_TABLES),
    ):
        with closing(sqlite3.connect(out / file)) as con:
            for table, layout in layouts.items():
                info = con.execute(f'PRAGMA table_info("{table}")').fetchall()
                assert [(r[1], r[2]) for r in info] == [(c, t) for c, t, _ in layout]
    assert [c for c, _, _ in schema.CORE_TABLES["cif_customer"]][:3] == [
        "cust_no",
        "cust_name",
        "cert_type",
    ]


def test_crm_files_decode_strictly_as_gbk_and_carry_the_chinese_headers(out: Path) -> None:
    expected = {
        "crm_customers": "客户编号,姓名,证件号码,手机,联系地址,出生日期,性别,客户经理,"
        "所属网点,更新时间",
        "crm_service_tickets": "工单编号,客户编号,渠道,类别,创建时间,首次响应时间,解决时间,"
        "满意度,客户经理,所属网点,状态",
        "crm_relationship_managers": "客户经理编号,姓名,所属网点,网点名称",
    }
    for table, header in expected.items():
        text = (out / "crm" / f"{table}.csv").read_bytes().decode("gbk", errors="strict")
        assert text.splitlines()[0] == header


def test_keys_and_formats_follow_each_systems_conventions(tables: dict[str, pd.DataFrame]) -> None:
    core, credit, crm = (
        tables["core.cif_customer"],
        tables["credit.BORROWER"],
        tables["crm.crm_customers"],
    )
    assert core["cust_no"].str.fullmatch(r"C\d{9}").all() and core["cust_no"].is_unique
    assert credit["BORROWER_ID"].str.fullmatch(r"BR\d{8}").all() and credit["BORROWER_ID"].is_unique
    assert crm["客户编号"].str.fullmatch(r"CRM\d{7}").all() and crm["客户编号"].is_unique
    assert core["birth_dt"].dropna().str.fullmatch(r"\d{8}").all()
    assert core["open_dt"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert core["last_upd_ts"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert set(core["cert_type"]) == {"01", "02"}
    assert set(core["gender_cd"].dropna()) == {"1", "2"} and core["gender_cd"].isna().any()
    assert core["open_branch_no"].str.fullmatch(r"B\d{4}").all()
    birthday = credit["BIRTHDAY"].dropna()
    assert birthday.str.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}").all()
    assert birthday.str.contains("/").any() and birthday.str.contains("-").any()
    assert set(credit["SEX"].dropna()) == {"M", "F"}
    assert credit["UPDATED_AT"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}").all()
    born = crm["出生日期"][crm["出生日期"] != ""]
    for pattern in (r"\d{4}年\d{1,2}月\d{1,2}日", r"\d{4}-\d{2}-\d{2}", r"\d{8}"):
        assert born.str.fullmatch(pattern).any(), pattern
    assert born.str.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2}|\d{8}").all()
    assert set(crm["性别"]) <= {"男", "女", ""}
    assert crm["更新时间"].str.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}").all()
    managers = tables["crm.crm_relationship_managers"]
    assert managers["客户经理编号"].str.fullmatch(r"RM\d{4}").all()
    assert set(crm["客户经理"]) - {""} <= set(managers["客户经理编号"])


def test_manifest_records_seed_size_as_of_noise_and_row_counts(
    out: Path, tables: dict[str, pd.DataFrame]
) -> None:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["seed"], manifest["people"], manifest["as_of"]) == (SEED, PEOPLE, "2026-11-28")
    assert manifest["noise"] == NoiseConfig().__dict__
    assert manifest["generator_version"]
    for system, counts in manifest["row_counts"].items():
        for table, rows in counts.items():
            assert rows == len(tables[f"{system}.{table}"]), f"{system}.{table}"


# Ground truth -----------------------------------------------------------------------------


PEOPLE_COLUMNS = {
    "person_id": "string",
    "name": "string",
    "name_pinyin": "string",
    "id_number": "string",
    "birth_date": "date32[day]",
    "gender": "string",
    "mobile": "string",
    "address": "string",
    "household_id": "string",
    "twin_person_id": "string",
}


def test_people_file_has_one_typed_row_per_person_and_is_in_the_manifest(
    out: Path, tables: dict[str, pd.DataFrame]
) -> None:
    people = tables["people"]
    schema_ = pq.read_schema(out / schema.PEOPLE_FILE)
    assert {f.name: str(f.type) for f in schema_} == PEOPLE_COLUMNS
    assert list(people.columns) == list(PEOPLE_COLUMNS)
    assert len(people) == PEOPLE and people["person_id"].is_unique
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["people"] == "people.parquet"
    assert people[["person_id", "name", "name_pinyin", "id_number"]].notna().all().all()
    assert people[["birth_date", "gender", "mobile", "address"]].notna().all().all()


def test_every_ground_truth_person_is_in_people(tables: dict[str, pd.DataFrame]) -> None:
    truth = tables["ground_truth"]["person_id"].dropna()
    assert set(truth) <= set(tables["people"]["person_id"])


def test_true_attributes_agree_with_each_other(tables: dict[str, pd.DataFrame]) -> None:
    people = tables["people"]
    assert people["id_number"].map(idcards.is_valid).all()
    births = pd.to_datetime(people["birth_date"]).dt.strftime("%Y%m%d")
    assert (people["id_number"].str[6:14] == births).all()
    odd = people["id_number"].str[16].astype(int) % 2 == 1
    assert (people["gender"] == np.where(odd, "M", "F")).all()
    assert people["mobile"].str.fullmatch(r"1[3-9]\d{9}").all()
    # Full address form: province, city (unless a municipality), district, street.
    assert people["address"].str.match(r"(河北省|北京市|天津市|山西省|山东省|河南省)").all()
    # The standardizer's pinyin form: lower case, one syllable per character after the
    # surname (compound surnames are one token).
    assert people["name_pinyin"].str.fullmatch(r"[a-z]+( [a-z]+)+").all()
    tokens = people["name_pinyin"].str.count(" ") + 1
    compound = people["name"].str[:2].isin(["欧阳", "上官", "司马", "诸葛", "司徒", "皇甫"])
    assert (tokens == people["name"].str.len() - compound.astype(int)).all()


def test_twins_point_at_each_other_and_share_a_household(
    tables: dict[str, pd.DataFrame],
) -> None:
    people = tables["people"].set_index("person_id")
    twins = people[people["twin_person_id"].notna()]
    assert len(twins) >= 2
    other = people.loc[twins["twin_person_id"]]
    assert (other["twin_person_id"].to_numpy() == twins.index.to_numpy()).all()
    assert (other["birth_date"].to_numpy() == twins["birth_date"].to_numpy()).all()
    assert (other["household_id"].to_numpy() == twins["household_id"].to_numpy()).all()
    assert (other["address"].to_numpy() == twins["address"].to_numpy()).all()
    assert twins["household_id"].notna().all()


def test_households_in_people_share_an_address(tables: dict[str, pd.DataFrame]) -> None:
    people = tables["people"]
    members = people[people["household_id"].notna()].groupby("household_id")
    assert members["address"].nunique().eq(1).all()
    assert members.size().between(2, 4).all()
    assert people["household_id"].isna().mean() > 0.8


def test_ground_truth_has_every_customer_row_of_every_system_and_no_other_key(
    tables: dict[str, pd.DataFrame],
) -> None:
    keys = set(tables["ground_truth"]["record_key"])
    expected = set()
    for system, (table, key) in schema.PARTY_TABLES.items():
        expected |= {f"{system}:{k}" for k in tables[f"{system}.{table}"][key]}
    assert keys == expected
    assert tables["ground_truth"]["record_key"].is_unique
    assert tables["ground_truth"]["person_id"].dropna().str.fullmatch(r"P\d{9}").all()


def test_junk_rows_exist_in_every_system_and_belong_to_no_person(
    tables: dict[str, pd.DataFrame],
) -> None:
    for system, (table, key) in schema.PARTY_TABLES.items():
        person = person_of(tables, system)
        frame = tables[f"{system}.{table}"].set_index(key)
        junk = person[person.isna()].index
        assert len(junk) >= 1, system
        name_col = frame.columns[0]
        names = frame.loc[junk, name_col].fillna("")
        assert (
            names.isin(
                ["", "测试客户", "测试", "1234", "test", "TEST客户", "张三测试", "aaa", "临时户"]
            )
        ).all()


def test_overlap_and_duplicate_rates_are_roughly_as_configured(
    tables: dict[str, pd.DataFrame],
) -> None:
    noise = NoiseConfig()
    truth = tables["ground_truth"].dropna()
    assert truth["person_id"].nunique() == PEOPLE  # every person is some system's customer
    for system, share in (
        ("core", noise.core_share),
        ("credit", noise.credit_share),
        ("crm", noise.crm_share),
    ):
        person = person_of(tables, system).dropna()
        held = person.nunique() / PEOPLE
        # People no system drew are given to one, which lifts each share a little.
        assert share - 0.03 <= held <= share + 0.05, (system, held)
        dup_rate = (len(person) - person.nunique()) / person.nunique()
        assert 0.01 <= dup_rate <= 0.05, (system, dup_rate)


def test_duplicate_records_are_never_exact_copies(tables: dict[str, pd.DataFrame]) -> None:
    core = tables["core.cif_customer"].set_index("cust_no")
    person = person_of(tables, "core").dropna()
    twice = person[person.duplicated(keep=False)]
    fields = ["cust_name", "cert_no", "mobile_no", "addr", "birth_dt", "gender_cd"]
    groups = core.loc[twice.index, fields].assign(person=twice).groupby("person")
    assert len(groups) > 10
    for _, group in groups:
        assert len(group.drop_duplicates()) == len(group)


# People -----------------------------------------------------------------------------------


def test_every_clean_resident_id_has_a_valid_check_digit_and_agrees_with_birth_date_and_gender(
    population: Population,
) -> None:
    ids = pd.Series(population.id18)
    assert ids.is_unique
    assert ids.map(idcards.is_valid).all()
    assert (ids.str[:6].isin(HEBEI_ADCODES)).all()
    born = pd.Series(np.datetime_as_string(population.birth, unit="D")).str.replace("-", "")
    assert (ids.str[6:14] == born).all()
    male_digit = ids.str[16].astype(int) % 2 == 1
    assert (male_digit.to_numpy() == population.male).all()
    assert (population.birth >= np.datetime64("1940-01-01")).all()
    assert (population.birth <= np.datetime64("2006-12-31")).all()
    hebei = ids.str.startswith("13").mean()
    assert hebei > 0.8


def test_check_digit_matches_the_published_gb11643_example() -> None:
    assert idcards.check_digit("11010519491231002") == "X"
    assert idcards.is_valid("11010519491231002X")
    assert idcards.is_valid("11010519491231002x")
    assert not idcards.is_valid("110105194912310021")


def test_mobiles_are_unique_per_person_except_deliberately_shared_ones(
    population: Population,
) -> None:
    mobile = pd.Series(population.mobile)
    assert mobile.astype(str).str.fullmatch(r"1(3\d|5[0-35-9]|8\d|9[1356789])\d{8}").all()
    shared = mobile[mobile.duplicated(keep=False)]
    # Every shared number is shared within one household (families and twins).
    households = pd.Series(population.household)[shared.index]
    assert (households >= 0).all()
    assert households.groupby(shared.to_numpy()).nunique().eq(1).all()
    assert not set(population.old_mobile) & set(population.mobile)


def test_population_has_twins_with_shared_birth_surname_and_address_but_different_names_and_ids(
    population: Population,
) -> None:
    a = np.flatnonzero(population.twin_of >= 0)
    b = population.twin_of[a]
    assert len(a) >= 2
    assert (population.birth[a] == population.birth[b]).all()
    assert (population.surname[a] == population.surname[b]).all()
    assert (population.res_detail[a] == population.res_detail[b]).all()
    assert (population.given[a] != population.given[b]).all()
    assert (population.id18[a] != population.id18[b]).all()
    assert (
        pd.Series(population.id18[a]).str[:14].to_numpy()
        == pd.Series(population.id18[b]).str[:14].to_numpy()
    ).all()


def test_households_share_an_address_and_some_share_a_phone(population: Population) -> None:
    frame = pd.DataFrame(
        {
            "household": population.household,
            "address": population.res_detail,
            "div": population.res_div,
            "mobile": population.mobile,
        }
    )
    families = frame[frame["household"] >= 0].groupby("household")
    assert families["address"].nunique().eq(1).all()
    assert families["div"].nunique().eq(1).all()
    sizes = families.size()
    assert sizes.max() <= 4 and sizes.min() >= 2
    in_households = (population.household >= 0).mean()
    assert 0.07 <= in_households <= 0.15
    sharing = families["mobile"].nunique() < sizes
    assert sharing.sum() >= 1


def test_common_names_are_shared_by_many_different_people(
    population: Population, tables: dict[str, pd.DataFrame]
) -> None:
    full = pd.Series(population.surname + population.given)
    counts = full.value_counts()
    assert counts.iloc[0] >= 5
    assert (counts >= 2).sum() >= 20
    # In a source system too: one name, several people, several resident IDs.
    core = tables["core.cif_customer"].set_index("cust_no")
    core = core.assign(person=person_of(tables, "core")).dropna(subset=["person"])
    per_name = core.groupby("cust_name")["person"].nunique()
    assert per_name.max() >= 3


def test_addresses_come_from_the_reference_divisions_in_full_and_abbreviated_forms(
    tables: dict[str, pd.DataFrame],
) -> None:
    addr = tables["core.cif_customer"]["addr"].dropna()
    full = addr.str.match(r"河北省\w+?市\w+?(区|县|市)")
    short = addr.str.match(r"河北(?!省)")
    no_province = addr.str.match(
        r"(石家庄|唐山|秦皇岛|邯郸|邢台|保定|张家口|承德|沧州|廊坊|衡水)市"
    )
    assert full.mean() > 0.7
    assert 0.05 < (short | no_province).mean() < 0.3
    assert addr.str.contains(r"\d+号").all() or addr.str.contains(r"\d+号").mean() > 0.95


# Trouble in the records -------------------------------------------------------------------


def test_records_carry_each_kind_of_configured_trouble(tables: dict[str, pd.DataFrame]) -> None:
    core = tables["core.cif_customer"]
    credit = tables["credit.BORROWER"]
    ids = pd.concat(
        [core["cert_no"], credit["ID_CARD_NO"].fillna(""), tables["crm.crm_customers"]["证件号码"]]
    )
    phones = pd.concat([core["mobile_no"], credit["PHONE"]]).dropna()
    names = pd.concat([core["cust_name"], credit["FULL_NAME"]]).fillna("")
    assert ids.str.fullmatch(r"\d{15}").any()
    assert ids.str.endswith("x").any()
    assert ids.str.contains("[０-９]").any()
    assert (ids == "").any()
    valid = ids.map(lambda s: bool(re.fullmatch(r"\d{17}[\dX]", s)) and idcards.is_valid(s))
    assert (ids.str.fullmatch(r"\d{17}[\dX]") & ~valid).any()  # typos break the check digit
    assert phones.str.startswith(("+86", "0086", "86")).any()
    assert phones.str.fullmatch(r"0\d{2,3}-\d{8}").any()  # landlines
    assert phones.str.contains(r"\d{3}[- ]\d{4}[- ]\d{4}").any()
    assert names.str.contains("[ \u3000]").any()
    assert names.str.endswith(("先生", "女士")).any()
    assert credit["FULL_NAME"].fillna("").str.fullmatch(r"[A-Z]+ [A-Z]+").any()
    assert credit["FULL_NAME"].fillna("").str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").any()
    # Pinyin names are the credit system's habit only.
    assert not core["cust_name"].str.fullmatch(r"[A-Z]+ [A-Z]+|[A-Z][a-z]+ [A-Z][a-z]+").any()


def test_fifteen_digit_ids_belong_to_people_born_before_2000(
    tables: dict[str, pd.DataFrame],
) -> None:
    core = tables["core.cif_customer"]
    old = core[core["cert_no"].str.fullmatch(r"\d{15}")]
    assert len(old) > 0
    assert (old["cert_no"].str[6:8].astype(int) >= 40).all()  # 1940-1999 only


def test_traditional_and_homophone_names_appear_when_forced(tmp_path: Path) -> None:
    noise = NoiseConfig(traditional_rate=1.0, homophone_rate=0.0, duplicate_rate=0.0, junk_rate=0.0)
    simulate(tmp_path, people=300, seed=1, noise=noise)
    core = load(tmp_path)["core.cif_customer"]
    assert core["cust_name"].str.contains("[張劉陳楊趙黃偉麗華軍]").mean() > 0.3


def test_a_noise_free_configuration_writes_clean_records(tmp_path: Path) -> None:
    zero = {name: 0.0 for name in NoiseConfig().__dict__ if not name.endswith("_share")}
    zero |= {
        "household_rate": 0.1,
        "household_shared_phone_rate": 0.0,
        "twin_shared_phone_rate": 0.0,
    }
    simulate(tmp_path, people=300, seed=3, noise=NoiseConfig(**zero))
    t = load(tmp_path)
    core = t["core.cif_customer"]
    assert core["cert_no"].map(idcards.is_valid).all()
    assert core["mobile_no"].str.fullmatch(r"1\d{10}").all()
    assert (
        core["addr"]
        .str.startswith(("河北省", "北京市", "天津市", "山西省", "山东省", "河南省"))
        .all()
    )
    assert t["ground_truth"]["person_id"].notna().all()
    person = person_of(t, "core")
    assert person.is_unique


def test_noise_config_rejects_rates_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="missing_rate"):
        NoiseConfig(missing_rate=1.5)


# Activity and the cases the marts need ----------------------------------------------------


def test_every_activity_table_has_rows(tables: dict[str, pd.DataFrame]) -> None:
    for name in (
        "core.dep_account",
        "credit.LOAN_APPLICATION",
        "credit.LOAN",
        "crm.crm_service_tickets",
        "crm.crm_relationship_managers",
    ):
        assert len(tables[name]) > 0, name
    managers = tables["crm.crm_relationship_managers"]
    assert 15 <= len(managers) <= 25
    assert managers["所属网点"].nunique() >= 12


def test_every_core_customer_has_one_to_four_accounts_including_a_demand_account(
    tables: dict[str, pd.DataFrame],
) -> None:
    accounts = tables["core.dep_account"]
    per_customer = accounts.groupby("cust_no")
    assert set(accounts["cust_no"]) == set(tables["core.cif_customer"]["cust_no"])
    assert per_customer.size().between(1, 4).all()
    assert per_customer["acct_type"].apply(lambda s: (s == "DEMAND").any()).all()
    assert accounts["acct_no"].str.fullmatch(r"\d{19}").all() and accounts["acct_no"].is_unique
    assert set(accounts["acct_type"]) == {"DEMAND", "TIME", "WEALTH"}
    assert set(accounts["currency"]) == {"CNY", "USD"}
    assert (accounts["balance"] >= 0).all()
    fixed = accounts["acct_type"] != "DEMAND"
    assert accounts.loc[fixed, "maturity_dt"].notna().all()
    assert accounts.loc[~fixed, "maturity_dt"].isna().all()
    assert (accounts.loc[fixed, "maturity_dt"] > accounts.loc[fixed, "open_dt"]).all()


def test_about_five_percent_of_customers_are_vip_by_deposits(
    tables: dict[str, pd.DataFrame],
) -> None:
    accounts = tables["core.dep_account"]
    cny = accounts[accounts["currency"] == "CNY"].groupby("cust_no")["balance"].sum()
    vip = (cny >= 500_000).mean()
    assert 0.025 <= vip <= 0.09, vip


def test_deposits_mature_within_three_days_after_as_of(tables: dict[str, pd.DataFrame]) -> None:
    accounts = tables["core.dep_account"]
    soon = accounts[
        (accounts["status"] == "ACTIVE")
        & (accounts["maturity_dt"] > "2026-11-28")
        & (accounts["maturity_dt"] <= "2026-12-01")
    ]
    assert len(soon) >= 10


def test_loan_applications_reach_every_status_with_stage_times_in_order(
    tables: dict[str, pd.DataFrame],
) -> None:
    apps = tables["credit.LOAN_APPLICATION"]
    assert set(apps["STATUS"]) == {"SUBMITTED", "IN_REVIEW", "APPROVED", "REJECTED", "DISBURSED"}
    stages = ["SUBMITTED_AT", "PRE_REVIEW_AT", "CREDIT_REVIEW_AT", "APPROVED_AT", "DISBURSED_AT"]
    reached = apps[stages].notna()
    # Once a stage is not reached, no later stage is.
    assert (reached.astype(int).diff(axis=1).fillna(0) <= 0).all().all()
    for earlier, later in itertools.pairwise(stages):
        both = apps[earlier].notna() & apps[later].notna()
        assert (apps.loc[both, earlier] <= apps.loc[both, later]).all()
    expected_reached = {
        "SUBMITTED": {1},
        "IN_REVIEW": {2, 3},
        "APPROVED": {4},
        "REJECTED": {2, 3},
        "DISBURSED": {5},
    }
    counts = reached.sum(axis=1)
    for status, allowed in expected_reached.items():
        assert set(counts[apps["STATUS"] == status]) <= allowed, status
    assert set(apps["BORROWER_ID"]) <= set(tables["credit.BORROWER"]["BORROWER_ID"])


def test_loans_exist_for_disbursed_applications_in_every_five_tier_class(
    tables: dict[str, pd.DataFrame],
) -> None:
    apps, loans = tables["credit.LOAN_APPLICATION"], tables["credit.LOAN"]
    disbursed = set(apps.loc[apps["STATUS"] == "DISBURSED", "APP_ID"])
    assert set(loans["APP_ID"]) == disbursed and loans["APP_ID"].is_unique
    assert set(loans["FIVE_TIER"]) == {"正常", "关注", "次级", "可疑", "损失"}
    assert (loans["FIVE_TIER"] == "正常").mean() > 0.8
    assert (loans["OUTSTANDING"] <= loans["PRINCIPAL"]).all() and (loans["OUTSTANDING"] >= 0).all()
    assert (loans["END_DATE"] > loans["START_DATE"]).all()
    assert loans["RATE"].between(0.02, 0.2).all()


def test_service_tickets_cover_channels_categories_and_an_unanswered_complaint_backlog(
    tables: dict[str, pd.DataFrame],
) -> None:
    tickets = tables["crm.crm_service_tickets"]
    assert set(tickets["渠道"]) == {"网点", "电话银行", "手机银行", "微信银行"}
    assert set(tickets["类别"]) == {"投诉", "咨询", "地址变更", "挂失"}
    complaint_share = (tickets["类别"] == "投诉").mean()
    assert 0.10 <= complaint_share <= 0.20
    assert tickets["创建时间"].min() >= "2024-11-28"
    overdue = tickets[
        (tickets["类别"] == "投诉")
        & (tickets["首次响应时间"] == "")
        & (tickets["创建时间"] < "2026-11-27 00:00:00")
    ]
    assert len(overdue) >= 1 and (overdue["状态"] == "待响应").all()
    answered = tickets[tickets["首次响应时间"] != ""]
    assert (answered["首次响应时间"] > answered["创建时间"]).all()
    solved = tickets[tickets["解决时间"] != ""]
    assert (solved["解决时间"] >= solved["首次响应时间"]).all()
    assert set(tickets["满意度"]) == {"", "1", "2", "3", "4", "5"}
    assert set(tickets["状态"]) <= {"已解决", "处理中", "待响应"}
    assert set(tickets["客户编号"]) <= set(tables["crm.crm_customers"]["客户编号"])


def test_no_timestamp_or_date_is_after_as_of(tables: dict[str, pd.DataFrame]) -> None:
    def latest(values: pd.Series) -> str:
        return str(values.replace("", None).dropna().max())

    assert latest(tables["core.cif_customer"]["last_upd_ts"]) <= AS_OF_END
    assert latest(tables["core.cif_customer"]["open_dt"]) <= "2026-11-28"
    assert latest(tables["core.dep_account"]["open_dt"]) <= "2026-11-28"
    assert latest(tables["core.dep_account"]["last_upd_ts"]) <= AS_OF_END
    assert latest(tables["credit.BORROWER"]["UPDATED_AT"]).replace("T", " ") <= AS_OF_END
    for column in (
        "SUBMITTED_AT",
        "PRE_REVIEW_AT",
        "CREDIT_REVIEW_AT",
        "APPROVED_AT",
        "DISBURSED_AT",
    ):
        assert latest(tables["credit.LOAN_APPLICATION"][column]) <= AS_OF_END, column
    assert latest(tables["credit.LOAN"]["START_DATE"]) <= "2026-11-28"
    for column in ("创建时间", "首次响应时间", "解决时间"):
        assert latest(tables["crm.crm_service_tickets"][column]) <= AS_OF_END, column
    assert latest(tables["crm.crm_customers"]["更新时间"]) <= "2026/11/28 23:59"
