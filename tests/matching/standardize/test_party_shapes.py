"""Party records from sources shaped unlike the demo bank's: documents in a one-to-many table,
a second (latin) name, zoned timestamps, HK / Macao mobiles, codes declared unknown."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.standardize import IdentifierMapping, SourceMapping, standardize_source
from matching.standardize.ids import check_digits

NOW = pd.Timestamp("2025-08-01 08:00:00")


def resident_id(area: str, birth: str, sequence: str) -> str:
    body = area + birth + sequence
    return body + check_digits(pd.Series([body])).iloc[0]


# A man born 1949-12-31 (odd sequence digit), his 15-digit first-generation ID upgrading to it.
ID_M = resident_id("110105", "19491231", "003")
ID_M_15 = ID_M[:6] + ID_M[8:17]
ID_F = resident_id("130102", "19850307", "124")
ID_BAD_CHECK = ID_F[:17] + ("0" if ID_F[17] != "0" else "1")

CERTS = IdentifierMapping(
    table="T_CUST_CERT",
    key_column="CUST_ID",
    number_column="CERT_NO",
    type_column="CERT_TP_CD",
    type_codes={
        "101": "resident_id",
        "201": "passport",
        "301": "hk_macao_permit",
        "999": "other",
        "000": "unknown",
    },
)
CBS = SourceMapping(
    source_system="cbs",
    key_column="CUST_ID",
    mapping={"name": "CUST_NM", "updated_at": "UPD_TM", "mobile": "MOBILE_NO"},
    trust_rank=1,
    identifiers=CERTS,
)


def cbs(customers: list[str], certs: list[tuple[str, str | None, str | None]], **source):
    raw = pd.DataFrame(
        {
            "CUST_ID": customers,
            "CUST_NM": "张伟",
            "UPD_TM": "2025-07-30 18:38:09.096169+08",
            "MOBILE_NO": "13800138000",
        }
    )
    table = pd.DataFrame(certs, columns=["CUST_ID", "CERT_NO", "CERT_TP_CD"])
    mapping = SourceMapping(**{**CBS.__dict__, **source}) if source else CBS
    return standardize_source(raw, mapping, batch_id="b1", now=NOW, identifiers=table)


def by_key(result) -> pd.DataFrame:
    return result.records.set_index("source_record_id")


# --- identifiers table -----------------------------------------------------------------------


def test_the_primary_document_is_chosen_and_the_others_kept_typed_and_sorted():
    result = cbs(
        ["C1", "C2", "C3", "C4", "C5"],
        [
            # C1: passport, the old 15-digit ID (upgrades to the 18-digit one: not repeated),
            # the 18-digit ID and a Hong Kong permit.
            ("C1", "e 1234 5678", "201"),
            ("C1", ID_M_15, "101"),
            ("C1", ID_M, "101"),
            ("C1", "H87654321", "301"),
            # C2: only the old 15-digit ID.
            ("C2", ID_M_15, "101"),
            # C3: a resident ID with a typo still beats a passport: it is the person's number.
            ("C3", "E12345678", "201"),
            ("C3", ID_BAD_CHECK, "101"),
            # C4: no resident ID: the permit comes before the passport.
            ("C4", "E12345678", "201"),
            ("C4", "M12345678", "301"),
            # C5: no document row at all.
        ],
    )
    records = by_key(result)
    assert records.loc["C1", ["id_type", "id_number", "id_valid", "id_issue"]].tolist() == [
        "resident_id",
        ID_M,
        True,
        None,
    ]
    assert records.loc["C1", "other_ids"] == "hk_macao_permit:H87654321;passport:E12345678"
    assert records.loc["C1", "gender"] == "M"  # read from the chosen ID
    assert records.loc["C2", ["id_number", "id_issue", "other_ids"]].tolist() == [
        ID_M,
        "upgraded_from_15",
        None,
    ]
    assert records.loc["C3", ["id_number", "id_issue", "other_ids"]].tolist() == [
        ID_BAD_CHECK,
        "bad_check_digit",
        "passport:E12345678",
    ]
    assert records.loc["C4", ["id_type", "id_number", "other_ids"]].tolist() == [
        "hk_macao_permit",
        "M12345678",
        "passport:E12345678",
    ]
    assert records.loc["C5", ["id_number", "id_issue", "other_ids"]].tolist() == [
        None,
        "missing",
        None,
    ]
    assert result.issue_counts["id_missing"] == 1
    assert result.issue_counts["id_bad_check_digit"] == 1


def test_the_party_tables_own_number_competes_with_the_identifier_rows():
    def one(own: str, certs: list[tuple[str, str, str]]) -> pd.Series:
        raw = pd.DataFrame({"CUST_ID": ["C1"], "CUST_NM": ["张伟"], "CERT": [own]})
        mapping = SourceMapping(
            source_system="cbs",
            key_column="CUST_ID",
            mapping={"name": "CUST_NM", "id_number": "CERT"},
            trust_rank=1,
            identifiers=CERTS,
        )
        table = pd.DataFrame(certs, columns=["CUST_ID", "CERT_NO", "CERT_TP_CD"])
        result = standardize_source(raw, mapping, batch_id="b1", now=NOW, identifiers=table)
        return result.records.iloc[0]

    # Its own passport loses to the table's resident ID, and is kept among the others.
    record = one("E12345678", [("C1", ID_F, "101")])
    assert (record["id_number"], record["other_ids"]) == (ID_F, "passport:E12345678")
    # Its own valid ID wins a tie with the table's (listed second), and is not repeated.
    record = one(ID_F, [("C1", ID_F, "101"), ("C1", ID_M, "101")])
    assert (record["id_number"], record["other_ids"]) == (ID_F, f"resident_id:{ID_M}")


def test_identifier_rows_of_no_customer_are_counted():
    result = cbs(["C1"], [("C1", ID_M, "101"), ("C9", "E12345678", "201"), (None, ID_F, "101")])
    assert result.issue_counts["identifier_without_party"] == 2
    assert by_key(result).loc["C1", "other_ids"] is None


def test_a_type_declared_unknown_lets_the_shape_decide_and_an_unlisted_one_is_counted():
    result = cbs(
        ["C1", "C2"],
        [
            ("C1", "H12345678", "000"),  # unknown: an HK / Macao permit by its shape
            ("C2", "E12345678", "777"),  # not listed: `other`, counted
        ],
    )
    records = by_key(result)
    assert records.loc["C1", "id_type"] == "hk_macao_permit"
    assert records.loc["C2", "id_type"] == "other"
    assert result.issue_counts["id_type_unknown"] == 1


def test_a_source_mapping_an_identifiers_table_needs_its_rows():
    raw = pd.DataFrame(
        {"CUST_ID": ["C1"], "CUST_NM": ["张伟"], "UPD_TM": [None], "MOBILE_NO": [None]}
    )
    with pytest.raises(ValueError, match="T_CUST_CERT"):
        standardize_source(raw, CBS, batch_id="b1", now=NOW)
    without_type = pd.DataFrame({"CUST_ID": ["C1"], "CERT_NO": [ID_M]})
    with pytest.raises(KeyError, match="CERT_TP_CD"):
        standardize_source(raw, CBS, batch_id="b1", now=NOW, identifiers=without_type)


def test_the_identifiers_section_is_read_from_the_config():
    config = {
        "key_column": "CUST_ID",
        "trust_rank": 1,
        "mapping": {"name": "CUST_NM"},
        "identifiers": {
            "table": "T_CUST_CERT",
            "key_column": "CUST_ID",
            "number_column": "CERT_NO",
            "type_column": "CERT_TP_CD",
            "type_codes": {101: "resident_id", "000": "unknown"},
        },
    }
    mapping = SourceMapping.from_config("cbs", config)
    assert mapping.identifiers == IdentifierMapping(
        table="T_CUST_CERT",
        key_column="CUST_ID",
        number_column="CERT_NO",
        type_column="CERT_TP_CD",
        type_codes={"101": "resident_id", "000": "unknown"},
    )


# --- a second, latin name ---------------------------------------------------------------------

CARD = SourceMapping(
    source_system="card",
    key_column="cardholder_no",
    mapping={"name": "name_cn", "name_latin": "name_en", "mobile": "mobile"},
    trust_rank=2,
)


def card(*rows: tuple[str | None, str | None]):
    raw = pd.DataFrame(
        {
            "cardholder_no": [f"CH{i}" for i in range(len(rows))],
            "name_cn": [r[0] for r in rows],
            "name_en": [r[1] for r in rows],
            "mobile": "13800138000",
        }
    )
    return standardize_source(raw, CARD, batch_id="b1", now=NOW)


def test_the_latin_name_is_kept_and_stands_in_for_an_empty_or_placeholder_one():
    result = card(
        ("张晓明", "ZHANG  XIAOMING"),
        (None, "ZHANG XIAOMING"),
        ("张三", "Xiaoming Zhang"),  # a stock placeholder in the Chinese column
        ("李娜", "TEST CARD"),
        ("王芳", "王芳"),  # not latin: nothing to keep
    )
    records = result.records
    assert records["name_latin"].tolist() == [
        "ZHANG XIAOMING",
        "ZHANG XIAOMING",
        "ZHANG XIAOMING",
        None,
        None,
    ]
    assert records["name"].tolist() == [
        "张晓明",
        "ZHANG XIAOMING",
        "ZHANG XIAOMING",
        "李娜",
        "王芳",
    ]
    # Matching compares pinyin: the stand-in reads like the Chinese name.
    assert records["name_pinyin"].tolist()[:3] == ["zhang xiao ming"] * 3
    assert records["name_raw"].tolist()[:3] == ["张晓明", "ZHANG XIAOMING", "Xiaoming Zhang"]
    assert (len(result.quarantine), result.issue_counts["name_missing"]) == (0, 0)


def test_a_source_may_map_only_a_latin_name():
    mapping = SourceMapping(
        source_system="card",
        key_column="cardholder_no",
        mapping={"name_latin": "name_en", "mobile": "mobile"},
        trust_rank=2,
    )
    raw = pd.DataFrame({"cardholder_no": ["CH1"], "name_en": ["LI NA"], "mobile": ["13800138000"]})
    record = standardize_source(raw, mapping, batch_id="b1", now=NOW).records.iloc[0]
    assert (record["name"], record["name_pinyin"], record["name_latin"]) == (
        "LI NA",
        "li na",
        "LI NA",
    )


# --- codes declared unknown, zoned timestamps, HK mobiles, parse failures counted ---------------

CRM = SourceMapping(
    source_system="crm",
    key_column="id",
    mapping={
        "name": "name",
        "id_type": "cert_type",
        "id_number": "cert_no",
        "gender": "sex",
        "birth_date": "born",
        "mobile": "mobile",
        "email": "email",
        "updated_at": "changed",
    },
    trust_rank=3,
    id_type_codes={"I": "resident_id", "P": "passport", "Z": "unknown"},
    default_id_type="passport",
    gender_codes={"M": "M", "F": "F", "U": "unknown", "0": "unknown"},
)
GOOD = {
    "name": "张伟",
    "cert_type": "I",
    "cert_no": ID_M,
    "sex": "M",
    "born": "1949-12-31",
    "mobile": "13800138000",
    "email": "zhang.wei@example.com",
    "changed": "2025-07-30 18:38:09.096169+08",
}


def crm(*changes: dict):
    rows = [{**GOOD, "id": f"R{i}", **change} for i, change in enumerate(changes)]
    return standardize_source(pd.DataFrame(rows), CRM, batch_id="b1", now=NOW)


def test_gender_codes_declared_unknown_say_nothing_and_are_not_counted():
    result = crm({"sex": "U", "cert_no": None}, {"sex": "0", "cert_no": None}, {"sex": "9"})
    records = result.records
    assert records["gender_stated"].tolist() == [None, None, None]
    assert records["gender"].tolist() == [None, None, "M"]  # the last from its ID
    assert result.issue_counts["gender_unknown_code"] == 1  # only 9, which no code explains


def test_an_id_type_declared_unknown_lets_the_shape_decide_not_the_default():
    result = crm(
        {"cert_type": "Z"}, {"cert_type": "Z", "cert_no": "H12345678"}, {"cert_type": None}
    )
    assert result.records["id_type"].tolist() == ["resident_id", "hk_macao_permit", "passport"]
    assert result.records["id_valid"].tolist() == [True, False, False]
    assert result.issue_counts["id_type_unknown"] == 0


def test_zoned_update_times_are_read_and_failures_counted_apart_from_missing_ones():
    result = crm({}, {"changed": "2025-07-30T10:38:09Z"}, {"changed": "yesterday"}, {"changed": ""})
    assert result.records["source_updated_at"].tolist()[:2] == [
        pd.Timestamp("2025-07-30 18:38:09.096169"),
        pd.Timestamp("2025-07-30 18:38:09"),
    ]
    assert result.issue_counts["updated_at_unparseable"] == 1
    assert result.issue_counts["updated_at_missing"] == 1


def test_hong_kong_and_macao_mobiles_are_the_records_mobile():
    result = crm(
        {"mobile": "+852 9123 4567"}, {"mobile": "00853-6612-3456"}, {"mobile": "+886 912 345 678"}
    )
    records = result.records
    assert records["mobile"].tolist() == ["+85291234567", "+85366123456", None]
    assert records["phone_other"].tolist() == [None, None, "+886912345678"]
    assert result.issue_counts["mobile_not_mobile"] == 1


def test_every_parsed_field_counts_its_unparseable_values():
    result = crm(
        {},
        {"born": "the 7th of March"},
        {"changed": "sometime in July"},
        {"cert_no": "1101051949123I003X"},
        {"mobile": "12345"},
        {"email": "zhang.wei@"},
        {"sex": "X"},
        {"cert_type": "Q"},
    )
    assert len(result.records) == 8
    counts = result.issue_counts
    assert counts["birth_date_unparseable"] == 1
    assert counts["updated_at_unparseable"] == 1
    assert counts["id_bad_characters"] == 1
    assert counts["mobile_invalid"] == 1
    assert counts["email_invalid"] == 1
    assert counts["gender_unknown_code"] == 1
    assert counts["id_type_unknown"] == 1
