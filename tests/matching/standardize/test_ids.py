import pandas as pd
import pytest

from matching.standardize import normalize_resident_ids
from matching.standardize.ids import check_digits

NOW = pd.Timestamp("2025-06-01")


def one(value: str | None) -> dict:
    return normalize_resident_ids(pd.Series([value]), now=NOW).iloc[0].to_dict()


def test_known_valid_id_with_x_check_digit():
    row = one("11010519491231002X")
    assert (row["id_number"], row["id_valid"], row["id_issue"]) == (
        "11010519491231002X",
        True,
        None,
    )
    assert row["id_birth_date"] == pd.Timestamp("1949-12-31")
    assert row["id_gender"] == "F"  # sequence 002: even


def test_fifteen_digit_id_is_upgraded_with_its_check_digit():
    # 130102 + 19 + 850307 + 123 -> weighted sum 205, 205 mod 11 = 7 -> "10X98765432"[7] = 5
    row = one("130102850307123")
    assert (row["id_number"], row["id_valid"], row["id_issue"]) == (
        "130102198503071235",
        True,
        "upgraded_from_15",
    )
    assert (row["id_birth_date"], row["id_gender"]) == (pd.Timestamp("1985-03-07"), "M")


def test_check_digits_are_computed_on_a_digit_matrix():
    out = check_digits(pd.Series(["11010519491231002", "13010219850307123"]))
    assert out.tolist() == ["X", "5"]


@pytest.mark.parametrize(
    "written",
    [
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "110105 19491231 002X",
        "110105-19491231-002X",
    ],
)
def test_lower_case_x_full_width_spaces_and_dashes_are_normalized(written):
    row = one(written)
    assert (row["id_number"], row["id_valid"]) == ("11010519491231002X", True)


@pytest.mark.parametrize(
    ("value", "issue"),
    [
        ("110105194912310021", "bad_check_digit"),
        ("110105194913310020", "bad_birth_date"),  # month 13
        ("110105219912310020", "bad_birth_date"),  # 2199: in the future
        ("110105189912310020", "bad_birth_date"),  # before 1900
        ("11010519491231002", "bad_length"),
        ("1101051949123I002X", "bad_characters"),
        ("X10105194912310020", "bad_characters"),  # X only as the last character
        ("91010519491231002X", "bad_area_code"),
        ("", "missing"),
        (None, "missing"),
    ],
)
def test_invalid_ids_say_why(value, issue):
    row = one(value)
    assert (row["id_valid"], row["id_issue"]) == (False, issue)
    assert pd.isna(row["id_birth_date"]) and row["id_gender"] is None


def test_invalid_id_keeps_its_cleaned_text_for_fuzzy_matching():
    assert one("110105 194912310021")["id_number"] == "110105194912310021"
