"""Documents other than the resident ID: recognized, kept normalized, never validated as one."""

import pandas as pd
import pytest

from matching.standardize import SourceMapping, rule_catalogue, standardize_source
from matching.standardize.ids import check_digits, document_types_by_shape

NOW = pd.Timestamp("2025-06-01 08:00:00")


def with_check_digit(first17: str) -> str:
    return first17 + check_digits(pd.Series([first17])).iloc[0]


# HK/Macao/Taiwan residence permits: 18 digits, a valid GB 11643 check digit, area 8x0000.
HK_RESIDENCE = with_check_digit("81000019900101123")  # 810000199001011230
MACAO_RESIDENCE = with_check_digit("82000019851231002")
TAIWAN_RESIDENCE = with_check_digit("83000019700615001")
# 2023 foreign permanent residence card: 9, issuing province 11, nationality 840, birth date.
FOREIGN_2023 = with_check_digit("91184019850101123")

BY_SHAPE = SourceMapping("bank", "key", {"name": "name", "id_number": "doc"}, 1)
RESIDENT_DEFAULT = SourceMapping(
    "bank", "key", {"name": "name", "id_number": "doc"}, 1, default_id_type="resident_id"
)
CODED = SourceMapping(
    "bank",
    "key",
    {"name": "name", "id_type": "doc_type", "id_number": "doc"},
    1,
    id_type_codes={
        "01": "resident_id",
        "02": "passport",
        "05": "hk_macao_permit",
        "06": "taiwan_permit",
        "07": "hmt_residence_permit",
        "08": "foreign_permanent_residence",
    },
)

# (as written, id_type by shape, normalized number)
DOCUMENTS = [
    ("E12345678", "passport", "E12345678"),  # Chinese e-passport
    ("e 1234 5678", "passport", "E12345678"),
    ("EA1234567", "passport", "EA1234567"),  # e-passport, second series
    ("G12345678", "passport", "G12345678"),  # pre-2012 passport
    ("K1234567", "passport", "K1234567"),
    ("H12345678", "hk_macao_permit", "H12345678"),  # 回乡证, Hong Kong resident
    ("h1234567801", "hk_macao_permit", "H1234567801"),  # old card: + 2 renewal digits
    ("M 1234 5678", "hk_macao_permit", "M12345678"),  # Macao resident
    ("12345678", "taiwan_permit", "12345678"),  # 台胞证, 2015 card
    ("1234567890", "taiwan_permit", "1234567890"),  # old 10-digit card
    ("12345678(B)", "taiwan_permit", "12345678B"),  # old card with its letter
    ("１２３４５６７８", "taiwan_permit", "12345678"),  # typed full-width
    (HK_RESIDENCE, "hmt_residence_permit", HK_RESIDENCE),
    (MACAO_RESIDENCE, "hmt_residence_permit", MACAO_RESIDENCE),
    (TAIWAN_RESIDENCE, "hmt_residence_permit", TAIWAN_RESIDENCE),
    ("USA110085012345", "foreign_permanent_residence", "USA110085012345"),  # 2004 card
    ("usa 1100 8501 2345", "foreign_permanent_residence", "USA110085012345"),
    (FOREIGN_2023, "foreign_permanent_residence", FOREIGN_2023),  # 2023 card
]


def run(source: SourceMapping, docs: list[str | None], types: list[str | None] | None = None):
    raw = pd.DataFrame(
        {
            "key": [f"K{i}" for i in range(len(docs))],
            "name": "张伟",
            "doc": docs,
            "doc_type": types if types is not None else [None] * len(docs),
        }
    )
    return standardize_source(raw, source, batch_id="b1", now=NOW)


def test_the_shapes_table_covers_every_document_type():
    assert {t for _, t, _ in DOCUMENTS} == {
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
        "hmt_residence_permit",
        "foreign_permanent_residence",
    }


@pytest.fixture(scope="module")
def by_shape():
    """Every document of the table standardized in one batch (one call: ~0.3 s of overhead)."""
    return run(BY_SHAPE, [written for written, _, _ in DOCUMENTS])


@pytest.mark.parametrize(("row", "document"), list(enumerate(DOCUMENTS)))
def test_document_is_recognized_by_its_shape_and_not_validated(by_shape, row, document):
    _, id_type, number = document
    record = by_shape.records.iloc[row]
    assert (record["id_type"], record["id_number"], record["id_valid"], record["id_issue"]) == (
        id_type,
        number,
        False,
        "not_resident_id",
    )
    # The resident-ID rules are not applied: no birth date or gender is read from the number.
    assert pd.isna(record["birth_date"]) and record["gender"] is None


def test_every_document_is_counted_and_none_needed_correcting(by_shape):
    assert by_shape.issue_counts["id_not_resident_id"] == len(DOCUMENTS)
    assert by_shape.issue_counts["id_type_corrected"] == 0


def test_residence_permit_has_a_valid_check_digit_yet_is_not_a_resident_id():
    # The trap: validated as a resident ID it would pass (area 8, real date, right check).
    assert HK_RESIDENCE == "810000199001011230"
    record = run(BY_SHAPE, [HK_RESIDENCE]).records.iloc[0]
    assert (record["id_type"], record["id_valid"]) == ("hmt_residence_permit", False)


def test_a_number_no_resident_id_can_be_overrides_a_resident_default_and_is_counted():
    unmistakable = {
        HK_RESIDENCE: "hmt_residence_permit",
        FOREIGN_2023: "foreign_permanent_residence",
        "USA110085012345": "foreign_permanent_residence",
        "H12345678": "hk_macao_permit",
        "E12345678": "passport",
    }
    result = run(RESIDENT_DEFAULT, list(unmistakable))
    assert result.records["id_type"].tolist() == list(unmistakable.values())
    assert set(result.records["id_issue"]) == {"not_resident_id"}
    assert result.issue_counts["id_type_corrected"] == len(unmistakable)


def test_resident_code_on_a_residence_permit_is_corrected():
    result = run(CODED, [HK_RESIDENCE], ["01"])
    assert result.records["id_type"].iloc[0] == "hmt_residence_permit"
    assert result.issue_counts["id_type_corrected"] == 1


def test_an_ambiguous_number_under_a_resident_default_stays_a_broken_resident_id():
    ambiguous = {
        "12345678": "bad_length",  # a Taiwan permit, or a truncated resident ID
        "1301021985030712": "bad_length",
        "1101051949123I002X": "bad_characters",
    }
    result = run(RESIDENT_DEFAULT, list(ambiguous))
    records = result.records
    assert set(records["id_type"]) == {"resident_id"}
    assert not records["id_valid"].any()
    assert records["id_issue"].tolist() == list(ambiguous.values())
    assert result.issue_counts["id_type_corrected"] == 0


# (source's code, as written, id_type, normalized number)
CODED_DOCUMENTS = [
    ("02", "e1234 5678", "passport", "E12345678"),
    ("05", "H12345678", "hk_macao_permit", "H12345678"),
    ("06", "12345678", "taiwan_permit", "12345678"),
    ("07", HK_RESIDENCE, "hmt_residence_permit", HK_RESIDENCE),
    ("08", "usa110085012345", "foreign_permanent_residence", "USA110085012345"),
    # The source's type wins over the shape: a passport numbered like a Taiwan permit.
    ("02", "12345678", "passport", "12345678"),
]


def test_the_sources_type_code_decides_when_given():
    codes = [code for code, _, _, _ in CODED_DOCUMENTS]
    records = run(CODED, [written for _, written, _, _ in CODED_DOCUMENTS], codes).records
    assert records[["id_type", "id_number"]].values.tolist() == [
        [id_type, number] for _, _, id_type, number in CODED_DOCUMENTS
    ]
    assert not records["id_valid"].any()
    assert set(records["id_issue"]) == {"not_resident_id"}


def test_resident_ids_are_still_recognized_and_validated_by_shape():
    result = run(BY_SHAPE, ["130102198503071235", "130102850307123", "130102198503071236"])
    records = result.records
    assert records["id_type"].tolist() == ["resident_id"] * 3
    assert records["id_valid"].tolist() == [True, True, False]
    assert records["id_issue"].tolist() == [None, "upgraded_from_15", "bad_check_digit"]


def test_a_number_of_no_known_shape_is_other():
    assert document_types_by_shape(pd.Series(["无", "1234", "123456789", None])).tolist() == [
        "other",
        "other",
        "other",
        None,
    ]


def test_a_document_counts_as_a_usable_identifier_for_a_nameless_row():
    raw = pd.DataFrame({"key": ["K1"], "name": [None], "doc": ["H12345678"]})
    result = standardize_source(raw, BY_SHAPE, batch_id="b1", now=NOW)
    assert (len(result.records), len(result.quarantine)) == (1, 0)


def test_the_catalogue_example_of_a_corrected_type_holds():
    rule = next(r for r in rule_catalogue().itertuples() if r.id == "id_type_corrected")
    assert rule.example_input == f"cert_type='01', cert_no='{HK_RESIDENCE}'"
    result = run(CODED, [HK_RESIDENCE], ["01"])
    record = result.records.iloc[0]
    assert rule.example_outcome == (f"id_type {record['id_type']}, id_issue {record['id_issue']}")
