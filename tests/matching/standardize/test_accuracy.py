"""standardization_accuracy on a hand-made example whose every count is worked out below."""

import math
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
import yaml

from connectors.landing import as_text_frame
from connectors.simulated import NoiseConfig, simulate
from matching.standardize import (
    ACCURACY_FIELDS,
    SourceMapping,
    normalize_resident_ids,
    parse_addresses,
    standardization_accuracy,
    standardize_names,
    standardize_source,
)

NOW = pd.Timestamp("2026-11-29 02:00:00")  # after the simulation's as_of

PEOPLE = pd.DataFrame(
    {
        "person_id": ["P1", "P2"],
        "name": ["张伟", "欧阳婧"],
        "name_pinyin": ["zhang wei", "ouyang jing"],
        "id_number": ["11010519491231002X", "130102198503071235"],
        "birth_date": [pd.Timestamp("1949-12-31").date(), pd.Timestamp("1985-03-07").date()],
        "gender": ["F", "F"],
        "mobile": ["13800138000", "13912345678"],
        "address": ["河北省石家庄市长安区中山路1号", "河北省石家庄市桥西区自强路2号"],
        "household_id": [None, None],
        "twin_person_id": [None, None],
    }
)
GROUND_TRUTH = pd.DataFrame(
    {
        "record_key": ["core:1", "credit:1", "crm:1", "crm:2", "core:9"],
        "person_id": ["P1", "P1", "P2", "P2", None],  # core:9 is a junk row: nobody
    }
)
RECORDS = pd.DataFrame(
    {
        "record_key": ["core:1", "credit:1", "crm:1", "crm:2", "core:9"],
        # credit:1 is in pinyin: its name is wrong, its pinyin right.
        "name": ["张伟", "ZHANG WEI", "欧阳婧", None, "临时户"],
        "name_pinyin": ["zhang wei", "zhang wei", "ouyang jing", None, "lin shi hu"],
        # crm:2 holds a mistyped ID (kept, invalid) and a stale mobile.
        "id_number": ["11010519491231002X", None, "130102198503071235", "130102198503071236", None],
        "birth_date": pd.to_datetime(["1949-12-31", "1949-12-31", "1985-03-07", None, None]),
        "gender": ["F", "F", "F", "M", None],
        "mobile": ["13800138000", "13800138000", None, "13011112222", None],
        "address": [
            "河北省石家庄市长安区中山路1号",
            None,
            "河北省石家庄市桥西区自强路2号",
            "河北省石家庄市桥西区自强路2号",
            None,
        ],
    }
)


@pytest.fixture
def report() -> pd.DataFrame:
    return standardization_accuracy(RECORDS, GROUND_TRUTH, PEOPLE).set_index("field")


def test_report_has_one_row_per_field_in_order_with_the_stated_columns():
    out = standardization_accuracy(RECORDS, GROUND_TRUTH, PEOPLE)
    assert out["field"].tolist() == list(ACCURACY_FIELDS)
    assert list(out.columns) == [
        "field",
        "records",
        "filled",
        "correct",
        "share_correct",
        "share_correct_of_filled",
    ]


def test_junk_records_without_a_person_are_not_judged(report):
    # core:9 has no person; the other four records are judged for every field.
    assert set(report["records"]) == {4}


@pytest.mark.parametrize(
    ("field", "filled", "correct"),
    [
        ("id_number", 3, 2),  # credit:1 has none, crm:2 a mistyped one
        ("name_pinyin", 3, 3),  # crm:2 has none; the pinyin name credit:1 is right
        ("mobile", 3, 2),  # crm:1 has none, crm:2 a stale one
        ("birth_date", 3, 3),  # a Timestamp equals the true date
        ("name", 3, 2),  # ZHANG WEI is not 张伟
        ("gender", 4, 3),  # crm:2 says M
        ("address", 3, 3),
    ],
)
def test_counts_per_field(report, field, filled, correct):
    assert (report.at[field, "filled"], report.at[field, "correct"]) == (filled, correct)
    assert report.at[field, "share_correct"] == correct / 4
    assert report.at[field, "share_correct_of_filled"] == correct / filled


def test_no_judged_records_give_nan_shares_not_errors():
    out = standardization_accuracy(RECORDS.iloc[4:], GROUND_TRUTH, PEOPLE)
    assert (out["records"] == 0).all()
    assert all(math.isnan(v) for v in out["share_correct"])
    assert all(math.isnan(v) for v in out["share_correct_of_filled"])


def test_a_field_missing_from_the_inputs_is_an_error():
    with pytest.raises(KeyError, match="email"):
        standardization_accuracy(RECORDS, GROUND_TRUTH, PEOPLE, fields=["email"])


# Against the simulator ---------------------------------------------------------------------


def standardize_simulated(folder: Path) -> pd.DataFrame:
    """Every source of a simulated folder through standardize_source, as the pipeline maps it."""
    config = yaml.safe_load((Path(__file__).parents[3] / "mdm.yaml").read_text(encoding="utf-8"))
    sources = config["sources"]
    raws = {}
    for system in ("core", "credit"):
        table = sources[system]["party_table"]
        database = folder / ("core_banking.sqlite" if system == "core" else "credit.sqlite")
        with closing(sqlite3.connect(database)) as con:
            raws[system] = as_text_frame(pd.read_sql(f'SELECT * FROM "{table}"', con))
    raws["crm"] = pd.read_csv(
        folder / "crm" / "crm_customers.csv",
        dtype=str,
        encoding="gbk",
        keep_default_na=False,
        na_values=[""],
    )
    records = [
        standardize_source(
            raw, SourceMapping.from_config(system, sources[system]), batch_id="b", now=NOW
        ).records
        for system, raw in raws.items()
    ]
    return pd.concat(records, ignore_index=True)


def test_a_noise_free_simulation_is_standardized_to_the_truth_in_every_field(tmp_path):
    # Without noise every record holds its person's current values, so anything short of
    # 100% would be the standardizer (or the truth file's form) getting a clean value wrong.
    zero = {name: 0.0 for name in NoiseConfig().__dict__ if not name.endswith("_share")}
    simulate(tmp_path, people=400, seed=11, noise=NoiseConfig(**zero))
    report = standardization_accuracy(
        standardize_simulated(tmp_path),
        pd.read_parquet(tmp_path / "ground_truth.parquet"),
        pd.read_parquet(tmp_path / "people.parquet"),
    )
    assert (report["records"] > 400).all()
    assert report.set_index("field")["share_correct"].to_dict() == dict.fromkeys(
        ACCURACY_FIELDS, 1.0
    )


def test_the_true_attributes_are_already_in_standardized_form(tmp_path):
    simulate(tmp_path, people=2000, seed=5)
    people = pd.read_parquet(tmp_path / "people.parquet")
    names = standardize_names(people["name"])
    assert names["name"].tolist() == people["name"].tolist()
    assert names["name_pinyin"].tolist() == people["name_pinyin"].tolist()
    assert parse_addresses(people["address"])["address"].tolist() == people["address"].tolist()
    ids = normalize_resident_ids(people["id_number"], now=NOW)
    assert ids["id_valid"].all()
    assert (ids["id_gender"] == people["gender"]).all()
