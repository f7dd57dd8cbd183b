from datetime import date

import pandas as pd
import pytest

from matching.standardize import normalize_phones
from matching.standardize.phones import MOBILE_PATTERN
from quality.catalogue import RULES_BY_ID, QualityConfig
from quality.stages import check_standardized


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
    assert one("+886 912 345 678")["phone_other"] == "+886912345678"


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


@pytest.mark.parametrize(
    ("written", "mobile"),
    [
        ("+852 9123 4567", "+85291234567"),
        ("00852-91234567", "+85291234567"),
        ("+852 5123-4567", "+85251234567"),
        ("85291234567", "+85291234567"),  # no mainland number starts 85
        ("+853 6612 3456", "+85366123456"),
        ("(+853) 66123456", "+85366123456"),
    ],
)
def test_hong_kong_and_macao_mobiles_are_mobiles_in_e164(written, mobile):
    assert one(written) == {"mobile": mobile, "phone_other": None, "phone_kind": "mobile"}


@pytest.mark.parametrize(
    ("written", "other"),
    [
        ("+852 2123 4567", "+85221234567"),  # a Hong Kong landline (2/3)
        ("+853 2812 3456", "+85328123456"),  # a Macao landline
        ("+886 912 345 678", "+886912345678"),
        ("+1 415 555 0100", "+14155550100"),
        ("0044 20 7946 0958", "+442079460958"),
    ],
)
def test_other_foreign_numbers_go_to_phone_other_in_e164(written, other):
    assert one(written) == {"mobile": None, "phone_other": other, "phone_kind": "international"}


def test_a_hong_kong_placeholder_is_no_ones_number():
    assert one("+852 8888 8888") == {
        "mobile": None,
        "phone_other": None,
        "phone_kind": "placeholder",
    }


def test_a_field_with_a_mainland_and_a_hong_kong_mobile_keeps_both():
    assert one("13812345678 / +852 9123 4567") == {
        "mobile": "13812345678",
        "phone_other": "+85291234567",
        "phone_kind": "mobile",
    }


def test_every_mobile_the_standardizer_writes_passes_the_mobile_quality_rule():
    written = ["13800138000", "+86 139-1234-5678", "+852 9123 4567", "+853 6612 3456"]
    mobiles = [*normalize_phones(pd.Series(written))["mobile"].tolist(), "+85221234567"]
    party = pd.DataFrame(
        {
            "record_key": [f"core:{i}" for i in range(len(mobiles))],
            "source_system": "core",
            "source_record_id": [str(i) for i in range(len(mobiles))],
            "id_valid": True,
            "id_number": None,
            "id_issue": None,
            "mobile": mobiles,
            "birth_date": pd.NaT,
            "source_updated_at": pd.Timestamp("2026-01-01"),
        }
    )
    quarantine = pd.DataFrame(columns=["source_system", "source_record_id", "rule"])
    runs = check_standardized(party, quarantine, ["core"], QualityConfig(), date(2026, 11, 28))
    outcome = next(o for run in runs for o in run.outcomes if o.rule.rule_id == "std.mobile_format")
    # Only the Hong Kong landline, which the standardizer never writes into `mobile`, fails.
    assert (outcome.evaluated, outcome.failed) == (5, 1)
    assert RULES_BY_ID["std.mobile_format"].params["regex"] == MOBILE_PATTERN
