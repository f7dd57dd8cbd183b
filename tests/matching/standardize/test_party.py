import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from matching.standardize import (
    PARTY_COLUMNS,
    QUARANTINE_COLUMNS,
    SourceMapping,
    rule_catalogue,
    standardize_source,
)

NOW = pd.Timestamp("2025-06-01 08:00:00")
CONFIG = yaml.safe_load((Path(__file__).parents[3] / "mdm.yaml").read_text(encoding="utf-8"))
CORE = SourceMapping.from_config("core", CONFIG["sources"]["core"])
CRM = SourceMapping.from_config("crm", CONFIG["sources"]["crm"])

GOOD = {
    "cust_no": "C000000001",
    "cust_name": "张伟",
    "cert_type": "01",
    "cert_no": "11010519491231002X",
    "gender_cd": "2",
    "birth_dt": "19491231",
    "mobile_no": "13800138000",
    "addr": "河北石家庄长安区中山路1号",
    "open_branch_no": "B0001",
    "open_dt": "2010-01-01",
    "last_upd_ts": "2024-05-01 10:00:00",
}


def core_raw(*changes: dict) -> pd.DataFrame:
    """One core row per dict: GOOD with the dict's changes, plus the landing columns."""
    rows = []
    for i, change in enumerate(changes):
        row = {**GOOD, "cust_no": f"C{i + 1:09d}", **change}
        rows.append({**row, "_batch_id": "b1", "_row_hash": f"h{i}", "_extracted_at": "2024-06-01"})
    return pd.DataFrame(rows)


def run(raw: pd.DataFrame, source: SourceMapping = CORE):
    return standardize_source(raw, source, batch_id="b1", now=NOW)


def test_records_have_the_contract_columns_in_order_and_types():
    result = run(core_raw({}))
    assert list(result.records.columns) == list(PARTY_COLUMNS)
    assert result.records.dtypes.astype(str).to_dict() == PARTY_COLUMNS
    assert list(result.quarantine.columns) == list(QUARANTINE_COLUMNS)
    assert result.quarantine.dtypes.astype(str).to_dict() == QUARANTINE_COLUMNS


def test_a_clean_row_becomes_a_full_record():
    record = run(core_raw({})).records.iloc[0].to_dict()
    assert record == {
        "record_key": "core:C000000001",
        "source_system": "core",
        "source_record_id": "C000000001",
        "source_updated_at": pd.Timestamp("2024-05-01 10:00:00"),
        "batch_id": "b1",
        "name_raw": "张伟",
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "name_script": "han",
        "name_latin": None,
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "id_valid": True,
        "id_issue": None,
        "other_ids": None,
        "birth_date": pd.Timestamp("1949-12-31"),
        "gender": "F",
        "birth_date_stated": pd.Timestamp("1949-12-31"),
        "gender_stated": "F",
        "id_conflict": False,
        "mobile": "13800138000",
        "phone_other": None,
        "email": None,
        "address_raw": "河北石家庄长安区中山路1号",
        "address": "河北省石家庄市长安区中山路1号",
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "branch_no": "B0001",
        "relationship_manager_id": None,
        "source_trust": 1,
    }


def test_empty_batch_gives_empty_typed_tables():
    result = run(core_raw({}).iloc[:0])
    assert (len(result.records), len(result.quarantine)) == (0, 0)
    assert result.records.dtypes.astype(str).to_dict() == PARTY_COLUMNS


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"cust_no": None}, "missing_key"),
        ({"cust_no": "  "}, "missing_key"),
        ({"cust_name": "测试客户"}, "junk_name"),
        ({"cust_name": "12345"}, "junk_name"),
        ({"cust_name": "河北某某贸易有限公司"}, "organization_name"),
        ({"cust_name": None, "cert_no": None, "mobile_no": None}, "no_name_no_id"),
        # an invalid ID and an invalid mobile are no usable identifier either
        ({"cust_name": "", "cert_no": "123", "mobile_no": "123"}, "no_name_no_id"),
    ],
)
def test_unusable_row_is_quarantined_with_its_raw_payload(change, rule):
    raw = core_raw({}, change)
    result = run(raw)
    assert len(result.records) + len(result.quarantine) == len(raw)
    assert result.quarantine["rule"].tolist() == [rule]
    assert result.issue_counts[rule] == 1
    quarantined = result.quarantine.iloc[0]
    assert json.loads(quarantined["raw_payload"]) == raw.iloc[1].to_dict()
    assert quarantined["reason"]
    assert quarantined["quarantined_at"] == NOW
    assert quarantined["batch_id"] == "b1"


def test_raw_payload_keeps_chinese_characters_unescaped():
    result = run(core_raw({"cust_name": "测试"}))
    assert "测试" in result.quarantine["raw_payload"].iloc[0]


def test_row_with_name_but_no_identifier_is_kept():
    result = run(core_raw({"cert_no": None, "mobile_no": None}))
    assert (len(result.records), len(result.quarantine)) == (1, 0)


def test_row_with_identifier_but_no_name_is_kept_and_counted():
    result = run(core_raw({"cust_name": None}))
    assert len(result.records) == 1
    assert result.issue_counts["name_missing"] == 1


def test_duplicate_key_keeps_the_most_recently_updated_row():
    raw = core_raw(
        {"cust_no": "C1", "cust_name": "张伟", "last_upd_ts": "2024-05-02 10:00:00"},
        {"cust_no": "C1", "cust_name": "张卫", "last_upd_ts": "2024-05-01 10:00:00"},
        {"cust_no": "C1", "cust_name": "张为", "last_upd_ts": "2024-04-01 10:00:00"},
    )
    result = run(raw)
    assert result.records["name"].tolist() == ["张伟"]
    assert result.quarantine["rule"].tolist() == ["duplicate_key", "duplicate_key"]
    assert [json.loads(p)["cust_name"] for p in result.quarantine["raw_payload"]] == [
        "张卫",
        "张为",
    ]
    assert "3 times" in result.quarantine["reason"].iloc[0]


def test_duplicate_key_without_update_times_keeps_the_last_row():
    raw = core_raw(
        {"cust_no": "C1", "cust_name": "张伟", "last_upd_ts": None},
        {"cust_no": "C1", "cust_name": "张卫", "last_upd_ts": None},
    )
    assert run(raw).records["name"].tolist() == ["张卫"]


def test_nothing_is_lost_across_all_rules():
    raw = core_raw(
        {},
        {"cust_no": None},
        {"cust_no": "C1"},
        {"cust_no": "C1", "last_upd_ts": "2020-01-01 00:00:00"},
        {"cust_name": "测试"},
        {"cust_name": "某某银行"},
        {"cust_name": None, "cert_no": None, "mobile_no": None},
        {"cert_no": "bad", "birth_dt": "19851340", "mobile_no": "0311-85551234"},
    )
    result = run(raw)
    assert len(result.records) + len(result.quarantine) == len(raw)
    assert (len(result.records), len(result.quarantine)) == (3, 5)


def test_bad_fields_become_null_and_good_fields_survive():
    result = run(core_raw({"cert_no": "1101051949", "birth_dt": "19851340", "mobile_no": "123"}))
    record = result.records.iloc[0]
    assert (record["id_valid"], record["id_issue"]) == (False, "bad_length")
    assert pd.isna(record["birth_date"]) and record["mobile"] is None
    assert (record["name"], record["district"]) == ("张伟", "长安区")
    counts = result.issue_counts
    assert (counts["id_bad_length"], counts["birth_date_impossible"], counts["mobile_invalid"]) == (
        1,
        1,
        1,
    )


def test_landline_in_mobile_column_moves_to_phone_other():
    record = run(core_raw({"mobile_no": "0311-85551234"})).records.iloc[0]
    assert (record["mobile"], record["phone_other"]) == (None, "0311-85551234")


def test_birth_date_disagreeing_with_valid_id_takes_the_ids():
    result = run(core_raw({"birth_dt": "19491230"}))
    assert result.records["birth_date"].iloc[0] == pd.Timestamp("1949-12-31")
    assert result.issue_counts["birth_date_id_mismatch"] == 1


@pytest.mark.parametrize(
    "stated",
    [
        "19491213",  # one digit off
        "19491031",  # 61 days before, yet one digit off (month 12 typed 10)
        "19491115",  # 46 days before: the lunar-calendar birthday
    ],
)
def test_a_slip_in_the_stated_birth_date_takes_the_ids_and_keeps_the_stated(stated):
    record = run(core_raw({"birth_dt": stated})).records.iloc[0]
    assert record["birth_date"] == pd.Timestamp("1949-12-31")
    assert record["birth_date_stated"] == pd.Timestamp(stated)
    assert not record["id_conflict"]


def test_a_birth_date_far_from_the_ids_keeps_the_stated_and_flags_the_id():
    # A parent's record carrying a child's ID: the ID says 1949-12-31, the record 1976-05-02.
    result = run(core_raw({"birth_dt": "19760502", "gender_cd": "1"}))
    record = result.records.iloc[0]
    assert record["birth_date"] == pd.Timestamp("1976-05-02")
    assert record["birth_date_stated"] == pd.Timestamp("1976-05-02")
    assert record["gender"] == "M"  # the conflicted ID does not override the stated gender
    assert record["id_conflict"]
    assert record["id_valid"]  # the ID itself is well formed; it just is not this record's
    assert result.issue_counts["id_conflict"] == 1
    assert result.issue_counts["birth_date_id_mismatch"] == 0


def test_a_gender_disagreeing_with_the_id_flags_the_id_as_someone_elses():
    # A husband's record carrying his wife's ID: the ID's sequence 002 is even (F).
    result = run(core_raw({"gender_cd": "1"}))
    record = result.records.iloc[0]
    assert (record["gender"], record["gender_stated"], record["id_conflict"]) == ("M", "M", True)
    assert result.issue_counts["gender_id_mismatch"] == 0


def test_genders_disagreeing_in_most_of_a_batch_are_mis_mapped_codes_and_take_the_ids():
    # 30 rows whose gender code says M while every ID says F: the codes are the wrong way round.
    result = run(core_raw(*[{"gender_cd": "1"}] * 30))
    assert (result.records["gender"] == "F").all()
    assert not result.records["id_conflict"].any()
    assert result.issue_counts["gender_id_mismatch"] == 30


def test_missing_birth_date_and_gender_are_filled_from_the_id():
    result = run(core_raw({"birth_dt": None, "gender_cd": None}))
    record = result.records.iloc[0]
    assert (record["birth_date"], record["gender"]) == (pd.Timestamp("1949-12-31"), "F")
    assert (result.issue_counts["birth_date_from_id"], result.issue_counts["gender_from_id"]) == (
        1,
        1,
    )


def test_invalid_id_does_not_override_the_source_birth_date():
    record = run(core_raw({"cert_no": "110105194912310021", "birth_dt": "19500101"})).records.iloc[
        0
    ]
    assert record["birth_date"] == pd.Timestamp("1950-01-01")


def test_fifteen_digit_id_is_upgraded_in_the_record():
    record = run(core_raw({"cert_no": "130102850307123", "birth_dt": None})).records.iloc[0]
    assert (record["id_number"], record["id_valid"], record["id_issue"]) == (
        "130102198503071235",
        True,
        "upgraded_from_15",
    )


def test_passport_is_kept_but_not_validated():
    record = run(core_raw({"cert_type": "02", "cert_no": "e 1234 5678"})).records.iloc[0]
    assert (record["id_type"], record["id_number"], record["id_valid"], record["id_issue"]) == (
        "passport",
        "E12345678",
        False,
        "not_resident_id",
    )


def test_unknown_document_type_code_is_other_and_counted():
    result = run(core_raw({"cert_type": "99", "cert_no": "AB123456"}))
    assert result.records["id_type"].iloc[0] == "other"
    assert result.issue_counts["id_type_unknown"] == 1


def test_unknown_gender_code_is_null_and_counted():
    result = run(core_raw({"gender_cd": "9", "cert_no": None}))
    assert result.records["gender"].iloc[0] is None
    assert result.issue_counts["gender_unknown_code"] == 1


def test_crm_source_with_chinese_columns_and_codes():
    raw = pd.DataFrame(
        [
            {
                "客户编号": "CRM0000001",
                "姓名": "張偉先生",
                "证件号码": "130102850307123",
                "手机": "+86 138-0013-8000",
                "联系地址": "河北石家庄长安区中山路1号",
                "出生日期": "1985年3月7日",
                "性别": "男",
                "客户经理": "RM0001",
                "所属网点": "B0001",
                "更新时间": "2024/05/01 10:00",
                "_batch_id": "b9",
                "_row_hash": "h",
                "_extracted_at": "2024-06-01",
            }
        ]
    )
    record = run(raw, CRM).records.iloc[0]
    assert (record["record_key"], record["name"], record["id_type"], record["gender"]) == (
        "crm:CRM0000001",
        "张伟",
        "resident_id",
        "M",
    )
    assert (record["birth_date"], record["mobile"], record["source_trust"]) == (
        pd.Timestamp("1985-03-07"),
        "13800138000",
        3,
    )
    assert (record["source_updated_at"], record["batch_id"]) == (
        pd.Timestamp("2024-05-01 10:00"),
        "b9",
    )


def test_batch_id_argument_fills_rows_without_one():
    raw = core_raw({}).drop(columns=["_batch_id"])
    assert standardize_source(raw, CORE, batch_id="b7", now=NOW).records["batch_id"].tolist() == [
        "b7"
    ]


def test_mapped_column_missing_from_raw_is_an_error():
    with pytest.raises(KeyError, match="cust_name"):
        run(core_raw({}).drop(columns=["cust_name"]))


def test_source_mapping_rejects_unknown_canonical_fields():
    with pytest.raises(ValueError, match="nickname"):
        SourceMapping("x", "id", {"nickname": "nick"}, 1)


def test_from_config_reads_codes_as_text():
    assert CORE.id_type_codes == {"01": "resident_id", "02": "passport"}
    assert CORE.gender_codes == {"1": "M", "2": "F"}
    assert CRM.default_id_type == "resident_id"


def test_every_counted_rule_is_in_the_catalogue():
    result = run(core_raw({}, {"cust_no": None}))
    assert set(result.issue_counts) == set(rule_catalogue()["id"])


def test_fifteen_digit_id_fills_but_does_not_override_birth_date_and_gender():
    # 130102850307123: born 1985-03-07, male; no check digit proves it was copied right.
    result = run(
        core_raw(
            {"cert_no": "130102850307123", "birth_dt": "19850308", "gender_cd": "2"},
            {"cert_no": "130102850307123", "birth_dt": None, "gender_cd": None},
        )
    )
    stated, missing = result.records.iloc[0], result.records.iloc[1]
    assert (stated["birth_date"], stated["gender"]) == (pd.Timestamp("1985-03-08"), "F")
    assert (missing["birth_date"], missing["gender"]) == (pd.Timestamp("1985-03-07"), "M")
    assert result.issue_counts["id_unverified_mismatch"] == 1
    assert result.issue_counts["birth_date_id_mismatch"] == 0
    assert result.issue_counts["gender_id_mismatch"] == 0
