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


@pytest.mark.parametrize(
    ("written", "china_time"),
    [
        # PostgreSQL's own text form: +08 is China time, kept as written to the microsecond.
        ("2025-07-30 18:38:09.096169+08", "2025-07-30 18:38:09.096169"),
        ("2025-07-30T18:38:09+08:00", "2025-07-30 18:38:09"),
        ("2025-07-30 18:38:09+0800", "2025-07-30 18:38:09"),
        ("2025-07-30 18:38:09 +08", "2025-07-30 18:38:09"),
        # Other zones are converted to China time (UTC+8).
        ("2025-07-30 10:38:09Z", "2025-07-30 18:38:09"),
        ("2025-07-30 10:38:09 UTC", "2025-07-30 18:38:09"),
        ("2025-07-30 05:38:09.5-05:00", "2025-07-30 18:38:09.5"),
        ("2025-07-30 16:08:09+05:30", "2025-07-30 18:38:09"),
        ("2025-12-31 20:00:00Z", "2026-01-01 04:00:00"),
        # The slow path (other separators, no seconds, Chinese clock) reads zones the same way.
        ("2025/07/30 18:38+08:00", "2025-07-30 18:38:00"),
        ("2025年7月30日 10时38分09秒Z", "2025-07-30 18:38:09"),
        ("20250730103809Z", "2025-07-30 18:38:09"),
    ],
)
def test_timestamps_with_a_zone_are_china_time(written, china_time):
    assert one(written, kind="timestamp") == {"value": pd.Timestamp(china_time), "issue": None}


def test_a_column_of_zoned_timestamps_parses_whole_and_exact():
    # Every value distinct (an update timestamp): the whole column, no row lost or rounded.
    stamps = pd.Timestamp("2025-07-30 18:38:09") + pd.to_timedelta(range(0, 5000, 7), unit="us")
    written = pd.Series(stamps.strftime("%Y-%m-%d %H:%M:%S.%f") + "+08", dtype=object)
    parsed = parse_dates(written, kind="timestamp", now=NOW)
    assert parsed["issue"].isna().all()
    assert (parsed["value"].to_numpy() == stamps.to_numpy()).all()


@pytest.mark.parametrize(
    ("written", "issue"),
    [
        ("2025-02-30 18:38:09+08", "impossible"),  # the zone does not excuse the calendar
        ("2025-07-30 24:38:09+08", "impossible"),
        ("2025-07-30 18:38:09+25", "unparseable"),  # no zone is 25 hours from UTC
        ("1985-03-07-08", "unparseable"),  # a date's last part is no offset
    ],
)
def test_zoned_timestamps_that_are_no_time_say_why(written, issue):
    row = one(written, kind="timestamp")
    assert pd.isna(row["value"]) and row["issue"] == issue


def test_a_birth_date_written_as_utc_midnight_of_china_is_its_day():
    # A JavaScript export of 1985-03-07 00:00 China time.
    assert one("1985-03-06T16:00:00Z")["value"] == BIRTH
