"""Each kind of trouble beyond the default profile's, switched on alone at a high rate on a
few hundred people: the damage is there, it is the damage described, and the ground truth
still maps every record to its person (every other field is that person's true value)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from connectors.simulated import NoiseConfig, idcards, names, places, simulate
from connectors.simulated.config import POPULATION_FIELDS
from connectors.simulated.population import Population, generate_population
from tests.connectors.test_simulated import load

PEOPLE = 500
SEED = 13
AS_OF = date(2026, 11, 28)
# Every record-level rate off: only the kind under test damages the records.
QUIET = {
    f.name: 0.0
    for f in dataclasses.fields(NoiseConfig)
    if f.name not in POPULATION_FIELDS and f.name != "system_multipliers"
}
FIELDS = ("name", "id", "phone", "address", "birth")
SYSTEM_COLUMNS = {
    "core.cif_customer": ("cust_no", "cust_name", "cert_no", "mobile_no", "addr", "birth_dt"),
    "credit.BORROWER": (
        "BORROWER_ID", "FULL_NAME", "ID_CARD_NO", "PHONE", "HOME_ADDRESS", "BIRTHDAY"
    ),
    "crm.crm_customers": ("客户编号", "姓名", "证件号码", "手机", "联系地址", "出生日期"),
}  # fmt: skip


def stated_dates(values: pd.Series) -> pd.Series:
    """19850307, 1985-03-07, 1985/3/7 and 1985年3月7日 alike."""
    parts = values.str.extract(r"^(\d{4})\D?(\d{1,2})\D?(\d{1,2})")
    text = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def simulate_records(tmp_path: Path, **rates: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records of all three systems beside their person's true values, people)."""
    noise = NoiseConfig(**QUIET | rates)
    simulate(tmp_path, people=PEOPLE, seed=SEED, as_of=AS_OF, noise=noise)
    t = load(tmp_path)
    parts = []
    for table, (key, *columns) in SYSTEM_COLUMNS.items():
        system = table.split(".")[0]
        frame = t[table]
        part = pd.DataFrame({"system": system, "record_key": system + ":" + frame[key]})
        for field, column in zip(FIELDS, columns, strict=True):
            part[field] = frame[column].replace({"": None}).to_numpy()
        parts.append(part)
    records = pd.concat(parts, ignore_index=True)
    records["birth"] = stated_dates(records["birth"])
    people = t["people"].assign(birth_date=lambda f: pd.to_datetime(f["birth_date"]))
    truth = t["ground_truth"]
    assert truth["person_id"].notna().all()  # no junk rows: every record is a person's
    records = records.merge(truth, on="record_key", how="left", validate="one_to_one")
    assert records["person_id"].notna().all()
    true = people.rename(
        columns={
            "name": "true_name",
            "id_number": "true_id",
            "mobile": "true_phone",
            "address": "true_address",
            "birth_date": "true_birth",
            "household_id": "true_household_id",
        }
    )
    records = records.merge(true, on="person_id", how="left", validate="many_to_one")
    records["index"] = records["person_id"].str[1:].astype(int) - 1
    return records, people


def assert_true_except(records: pd.DataFrame, *damaged: str) -> None:
    """The ground truth holds: every field but the damaged ones is the person's own."""
    for field in FIELDS:
        if field not in damaged:
            assert (records[field] == records[f"true_{field}"]).all(), field


def household_values(people: pd.DataFrame, column: str) -> dict[str, list[Any]]:
    """person_id -> the values of `column` of the *other* members of their household."""
    members = people.dropna(subset=["household_id"])
    groups = members.groupby("household_id")["person_id"].agg(list)
    value = members.set_index("person_id")[column]
    return {
        pid: [value[other] for other in groups[household] if other != pid]
        for pid, household in zip(members["person_id"], members["household_id"], strict=True)
    }


@pytest.fixture(scope="module")
def population() -> Population:
    """The same people the simulations below hold (old phones and addresses are only here)."""
    return generate_population(PEOPLE, SEED, NoiseConfig(**QUIET))


# Relatives --------------------------------------------------------------------------------


def test_relative_id_carries_another_household_members_id(tmp_path: Path) -> None:
    records, people = simulate_records(tmp_path, relative_id_rate=1.0, household_rate=0.3)
    assert_true_except(records, "id")
    others = household_values(people, "id_number")
    in_household = records["true_household_id"].notna()
    assert in_household.sum() > 100
    for row in records[in_household].itertuples():
        assert row.id in others[row.person_id], row
    assert (records.loc[~in_household, "id"] == records.loc[~in_household, "true_id"]).all()
    # The ID is not the person's own, but the stated birth date and name still are.
    assert (records.loc[in_household, "id"] != records.loc[in_household, "true_id"]).all()


def test_relative_ids_get_the_same_fifteen_digit_form_an_own_id_would(tmp_path: Path) -> None:
    records, people = simulate_records(
        tmp_path, relative_id_rate=1.0, old_id15_rate=1.0, household_rate=0.3
    )
    born = people.set_index("id_number")["birth_date"]
    written = {}
    for id18 in people["id_number"]:
        before_2000 = born[id18] < pd.Timestamp("2000-01-01")
        written[id18] = id18[:6] + id18[8:17] if before_2000 else id18
    others = household_values(people, "id_number")
    members = records[records["true_household_id"].notna()]
    for row in members.itertuples():
        assert row.id in {written[i] for i in others[row.person_id]}, row
    assert members["id"].str.len().eq(15).any() and members["id"].str.len().eq(18).any()


def test_relative_ids_hold_the_configured_share_over_all_records(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, relative_id_rate=0.05)
    share = (records["id"] != records["true_id"]).mean()
    assert 0.025 < share < 0.08, share


def test_relative_phone_carries_another_household_members_mobile(tmp_path: Path) -> None:
    records, people = simulate_records(tmp_path, relative_phone_rate=1.0, household_rate=0.3)
    assert_true_except(records, "phone")
    mobiles = people.set_index("person_id")["mobile"]
    members = people.dropna(subset=["household_id"])
    by_household = members.groupby("household_id")["person_id"].agg(list)
    in_household = records["true_household_id"].notna()
    for row in records[in_household].itertuples():
        relatives = [p for p in by_household[row.true_household_id] if p != row.person_id]
        assert row.phone in set(mobiles[relatives]), row
    # Most families do not share one phone, so most records now show someone else's number.
    assert (
        records.loc[in_household, "phone"] != records.loc[in_household, "true_phone"]
    ).mean() > 0.5
    assert (records.loc[~in_household, "phone"] == records.loc[~in_household, "true_phone"]).all()


# Birth dates ------------------------------------------------------------------------------


def test_birth_date_typo_changes_one_digit_and_keeps_a_real_past_date(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, birth_date_typo_rate=1.0)
    assert_true_except(records, "birth")
    assert records["birth"].notna().all()  # every stated date parsed: a real date
    stated = records["birth"].dt.strftime("%Y%m%d")
    true = records["true_birth"].dt.strftime("%Y%m%d")
    differing = [
        sum(a != b for a, b in zip(s, t, strict=True)) for s, t in zip(stated, true, strict=True)
    ]
    assert (pd.Series(differing) == 1).mean() > 0.99
    assert set(differing) <= {0, 1}
    assert records["birth"].min() >= pd.Timestamp("1900-01-01")
    assert records["birth"].max() <= pd.Timestamp(AS_OF)


def test_day_month_swap_only_where_the_day_could_be_a_month(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, birth_day_month_swap_rate=1.0)
    assert_true_except(records, "birth")
    true = records["true_birth"]
    swappable = (true.dt.day <= 12) & (true.dt.day != true.dt.month)
    assert swappable.sum() > 100
    s = records[swappable]
    assert (s["birth"].dt.year == s["true_birth"].dt.year).all()
    assert (s["birth"].dt.month == s["true_birth"].dt.day).all()
    assert (s["birth"].dt.day == s["true_birth"].dt.month).all()
    assert (records.loc[~swappable, "birth"] == records.loc[~swappable, "true_birth"]).all()


def test_lunar_birthday_is_15_to_50_days_before_the_true_one(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, lunar_birthday_rate=1.0)
    assert_true_except(records, "birth")
    early = (records["true_birth"] - records["birth"]).dt.days
    assert early.between(15, 50).all()
    assert early.min() <= 18 and early.max() >= 47


# Stale values -----------------------------------------------------------------------------


def test_stale_when_written_has_old_phone_and_address_but_a_recent_update(
    tmp_path: Path, population: Population
) -> None:
    records, _ = simulate_records(tmp_path / "written", stale_when_written_rate=1.0)
    assert_true_except(records, "phone", "address")
    person = records["index"].to_numpy()
    old_phone = population.old_mobile[person].astype(str)
    old_address = places.render_address(
        population.old_div[person], population.old_detail[person], np.zeros(len(person), int)
    )
    assert (records["phone"].to_numpy() == old_phone).all()
    assert (records["address"].to_numpy() == old_address).all()

    def median_update(folder: Path) -> pd.Timestamp:
        return pd.to_datetime(load(folder)["core.cif_customer"]["last_upd_ts"]).median()

    simulate_records(tmp_path / "clean")
    simulate_records(tmp_path / "stale", stale_rate=1.0)
    written, clean = median_update(tmp_path / "written"), median_update(tmp_path / "clean")
    assert abs(written - clean) < pd.Timedelta(days=180)
    assert median_update(tmp_path / "stale") < clean - pd.Timedelta(days=3 * 365)


# Addresses --------------------------------------------------------------------------------


def test_province_abbreviation_writes_the_one_character_form(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, province_abbreviation_rate=1.0)
    assert_true_except(records, "address")
    d = places.divisions()
    abbreviated = dict(zip(d.full_prefix, d.abbreviated_prefix, strict=True))
    prefixes = sorted(abbreviated, key=len, reverse=True)
    for row in records.itertuples():
        full = next(p for p in prefixes if row.true_address.startswith(p))
        assert row.address == abbreviated[full] + row.true_address[len(full) :], row
    assert records["address"].str.startswith("冀").mean() > 0.9
    assert not records["address"].str.contains("省").any()


def test_province_abbreviations_of_every_province_and_municipality() -> None:
    d = places.divisions()
    prefix = dict(zip(d.full_prefix, d.abbreviated_prefix, strict=True))
    assert prefix["河北省保定市满城区"] == "冀保定满城区"
    assert prefix["北京市朝阳区"] == "京朝阳区"
    first = {p[0] for p in d.abbreviated_prefix}
    assert first == {"冀", "京", "津", "晋", "鲁", "豫"}


# The street number's 号, maybe a community's name, then the flat in one of the forms.
BUILDING_FORMS = {
    r"号\D*\d+号楼\d+单元\d+$": "号楼",
    r"号\D*\d+幢\d+单元\d+室$": "幢",
    r"号\D*\d+#\d+-\d+$": "#",
    r"号\D*\d+号楼\d+-\d+$": "号楼-",
    r"号\D*\d+-\d+-\d+$": "-",
}


def test_building_forms_rewrite_the_flat_and_keep_the_true_detail(tmp_path: Path) -> None:
    records, people = simulate_records(tmp_path, building_form_rate=1.0)
    assert_true_except(records, "address")
    flats = records["true_address"].str.contains("栋")
    assert flats.mean() > 0.8
    assert people["address"].str.contains(r"\d+栋\d+单元\d+$").mean() > 0.8  # truth untouched
    rewritten = records.loc[flats, "address"]
    assert not rewritten.str.contains("栋").any()
    seen = {form: rewritten.str.contains(pattern).sum() for pattern, form in BUILDING_FORMS.items()}
    assert all(count > 10 for count in seen.values()), seen
    assert sum(seen.values()) == len(rewritten)
    # Undoing the form gives the true address back.
    undone = rewritten.str.replace(
        r"(\d+)(?:号楼|幢|#|-)(\d+)(?:单元|-)(\d+)室?$", r"\1栋\2单元\3", regex=True
    )
    assert (undone == records.loc[flats, "true_address"]).all()
    assert (records.loc[~flats, "address"] == records.loc[~flats, "true_address"]).all()


def test_address_fullwidth_types_every_digit_full_width(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, address_fullwidth_rate=1.0)
    assert_true_except(records, "address")
    assert not records["address"].str.contains(r"[0-9]").any()
    assert records["address"].str.contains("[０-９]+号").all()
    back = records["address"].str.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    assert (back == records["true_address"]).all()


# Phones -----------------------------------------------------------------------------------

MULTI_PHONE = re.compile(r"^([^/,，;、 ]+)([/,，;、 ])([^/,，;、 ]+)$")


def test_multi_phone_holds_the_mobile_and_the_landline_or_old_mobile(
    tmp_path: Path, population: Population
) -> None:
    records, _ = simulate_records(tmp_path, multi_phone_rate=1.0)
    assert_true_except(records, "phone")
    parts = records["phone"].str.extract(MULTI_PHONE)
    assert parts.notna().all().all()
    old = pd.Series(population.old_mobile[records["index"]].astype(str), index=records.index)
    mobile_first = parts[0] == records["true_phone"]
    mobile_second = parts[2] == records["true_phone"]
    assert (mobile_first ^ mobile_second).all()
    other = parts[2].where(mobile_first, parts[0])
    landline = other.str.fullmatch(r"0\d{2,3}-\d{8}")
    assert (landline | (other == old)).all()
    assert landline.mean() > 0.3 and (other == old).mean() > 0.3
    assert mobile_first.mean() > 0.3 and mobile_second.mean() > 0.3
    assert set(parts[1]) == {"/", ",", "，", ";", " ", "、"}


# Names ------------------------------------------------------------------------------------


def test_name_dot_sits_between_surname_and_given_name(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, name_dot_rate=1.0)
    assert_true_except(records, "name")
    dots = records["name"].str.extract(r"([·.•])")[0]
    assert dots.notna().all()
    assert (records["name"].str.replace(r"[·.•]", "", regex=True) == records["true_name"]).all()
    before = records["name"].str.split(r"[·.•]", regex=True).str[0]
    assert before.isin(list(names.SURNAME_CHARS)).all()
    assert set(dots[records["system"] == "crm"]) <= {"·", "."}
    assert set(dots) == {"·", ".", "•"}
    assert (dots == "·").mean() > 0.5


def test_similar_char_replaces_one_given_name_character_by_a_look_alike(
    tmp_path: Path, population: Population
) -> None:
    records, _ = simulate_records(tmp_path, similar_char_rate=1.0)
    assert_true_except(records, "name")
    table = names.similar_chars()
    given = population.given[records["index"]]
    surname = population.surname[records["index"]]
    eligible = np.array([any(ch in table for ch in g) for g in given])
    assert eligible.mean() > 0.3
    for name, true, s, ok in zip(
        records["name"], records["true_name"], surname, eligible, strict=True
    ):
        if not ok:
            assert name == true
            continue
        assert name.startswith(s) and len(name) == len(true)
        changed = [(a, b) for a, b in zip(true[len(s) :], name[len(s) :], strict=True) if a != b]
        assert len(changed) == 1, (true, name)
        ((was, now),) = changed
        assert now in table[was], (was, now)


def test_similar_chars_are_gbk_and_mostly_read_differently() -> None:
    from pypinyin import lazy_pinyin

    table = names.similar_chars()
    assert len(names.SIMILAR_CHAR_PAIRS) >= 40
    for pair in names.SIMILAR_CHAR_PAIRS:
        assert len(pair) == 2 and pair[0] != pair[1]
        pair.encode("gbk")
    differ = [ch for ch, options in table.items() if lazy_pinyin(options[0]) != lazy_pinyin(ch)]
    assert len(differ) / len(table) > 0.8
    # Characters of common given names are covered.
    assert {"明", "玉", "宇", "佳", "丽", "淑", "梅", "金"} <= set(table)


def test_similar_chars_hold_the_configured_share_over_all_records(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, similar_char_rate=0.1)
    share = (records["name"] != records["true_name"]).mean()
    assert 0.06 < share < 0.14, share


def test_name_missing_leaves_the_name_empty(tmp_path: Path) -> None:
    records, _ = simulate_records(tmp_path, name_missing_rate=1.0)
    assert_true_except(records, "name")
    assert records["name"].isna().all()


def test_every_new_kind_at_once_still_writes_valid_gbk_and_a_complete_truth(
    tmp_path: Path,
) -> None:
    kinds = [name for name in QUIET if NoiseConfig().__dict__[name] == 0.0]
    assert len(kinds) == 13
    noise = NoiseConfig(**dict.fromkeys(kinds, 1.0), system_multipliers={"crm": 3})
    simulate(tmp_path, people=300, seed=2, as_of=AS_OF, noise=noise)
    t = load(tmp_path)  # reads the CRM export as strict GBK
    truth = t["ground_truth"]
    assert truth["person_id"].notna().mean() > 0.99
    assert len(truth) == sum(len(t[name]) for name in SYSTEM_COLUMNS)
    ids = t["core.cif_customer"]["cert_no"]
    assert ids[ids.str.len() == 18].map(idcards.is_valid).mean() > 0.9
