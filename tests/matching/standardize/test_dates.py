import pandas as pd
import pytest

from matching.standardize import parse_dates

NOW = pd.Timestamp("2025-06-01 12:00:00")
BIRTH = pd.Timestamp("1985-03-07")


def one(value, kind="birth_date") -> dict:
    return parse_dates(pd.Series([value]), kind=kind, now=NOW).iloc[0].to_dict()


@pytest.mark.parametrize(
    "written",
    [
        "19850307",
        "1985-03-07",
        "1985/3/7",
        "1985年3月7日",
        "1985.03.07",
        "１９８５－０３－０７",
        " 1985-3-7 ",
    ],
)
def test_each_date_format(written):
    assert one(written) == {"value": BIRTH, "issue": None}


def test_excel_serial_number():
    # Excel counts days from 1899-12-30 (its 1900 leap-year bug included).
    assert one("31113") == {"value": BIRTH, "issue": None}


def test_two_digit_year_pivots_on_the_run_date():
    # Years up to the run year's two digits (25) are 20yy, later ones 19yy.
    assert one("85-3-7")["value"] == BIRTH
    assert one("05-3-7")["value"] == pd.Timestamp("2005-03-07")


@pytest.mark.parametrize(
    ("written", "stamp"),
    [
        ("2024-01-02 10:11:12", "2024-01-02 10:11:12"),
        ("2024-01-02T10:11:12", "2024-01-02 10:11:12"),
        ("2024/01/02 10:11", "2024-01-02 10:11:00"),
        ("2024-01-02 10:11:12.5", "2024-01-02 10:11:12.5"),
        ("20240102101112", "2024-01-02 10:11:12"),
    ],
)
def test_timestamps_keep_their_time(written, stamp):
    assert one(written, kind="timestamp") == {"value": pd.Timestamp(stamp), "issue": None}


def test_birth_dates_drop_the_time_of_day():
    assert one("1985-03-07 10:11:12")["value"] == BIRTH


@pytest.mark.parametrize(
    ("written", "issue"),
    [
        ("1985-13-01", "impossible"),
        ("2001-02-30", "impossible"),
        ("2024-01-02 25:00:00", "impossible"),
        ("2199-01-01", "future"),
        ("1800-01-01", "too_old"),
        ("March 7th", "unparseable"),
    ],
)
def test_impossible_birth_dates_are_null_with_an_issue(written, issue):
    row = one(written)
    assert pd.isna(row["value"]) and row["issue"] == issue


def test_future_timestamps_are_not_birth_date_errors():
    assert one("2199-01-01", kind="timestamp")["issue"] is None


def test_empty_is_null_without_issue():
    row = one(None)
    assert pd.isna(row["value"]) and row["issue"] is None
