import pandas as pd
import pytest

from matching.standardize import normalize_phones


def one(value: str | None) -> dict:
    return normalize_phones(pd.Series([value])).iloc[0].to_dict()


@pytest.mark.parametrize(
    "written",
    [
        "13800138000",
        "+86 138-0013-8000",
        "+8613800138000",
        "008613800138000",
        "8613800138000",
        "138 0013 8000",
        "１３８００１３８０００",
        "(+86)138.0013.8000",
    ],
)
def test_mainland_mobile_is_eleven_digits(written):
    assert one(written) == {"mobile": "13800138000", "phone_other": None, "phone_kind": "mobile"}


@pytest.mark.parametrize(
    ("written", "other"),
    [
        ("0311-85551234", "0311-85551234"),
        ("031185551234", "0311-85551234"),
        ("(010) 1234 5678", "010-12345678"),  # 010 and 02x have 3-digit area codes
        ("+86 311 8555 1234", "0311-85551234"),  # trunk 0 restored after +86
    ],
)
def test_landline_goes_to_phone_other(written, other):
    assert one(written) == {"mobile": None, "phone_other": other, "phone_kind": "landline"}


def test_service_and_foreign_numbers_go_to_phone_other():
    assert one("400-812-3123")["phone_other"] == "4008123123"
    assert one("+852 9123 4567")["phone_other"] == "+85291234567"


@pytest.mark.parametrize("written", ["1380013800", "12345678901", "abc", "85551234"])
def test_unusable_number_is_invalid(written):
    # 10 digits; second digit 2 is no mobile prefix; letters; a local number without area code
    assert one(written) == {"mobile": None, "phone_other": None, "phone_kind": "invalid"}


def test_empty_is_null_not_invalid():
    assert one(None) == {"mobile": None, "phone_other": None, "phone_kind": None}


@pytest.mark.parametrize("written", ["13800000000", "+86 139-8888-8888", "１５０００００００００"])
def test_placeholder_mobile_is_null(written):
    assert one(written) == {"mobile": None, "phone_other": None, "phone_kind": "placeholder"}


def test_a_number_with_seven_repeated_digits_is_a_real_mobile():
    assert one("13810000000")["mobile"] == "13810000000"


@pytest.mark.parametrize(
    ("written", "mobile", "other"),
    [
        ("13812345678/0311-85551234", "13812345678", "0311-85551234"),
        ("0311-85551234，13812345678", "13812345678", "0311-85551234"),
        ("13812345678 13987654321", "13812345678", "13987654321"),
        ("13812345678;13987654321", "13812345678", "13987654321"),
        ("138 1234 5678", "13812345678", None),  # one number in groups, not a list
    ],
)
def test_a_field_holding_several_numbers_gives_the_mobile_and_one_other(written, mobile, other):
    row = one(written)
    assert (row["mobile"], row["phone_other"], row["phone_kind"]) == (mobile, other, "mobile")


def test_a_list_with_a_part_that_is_no_number_stays_invalid():
    assert one("13812345678、139")["phone_kind"] == "invalid"
