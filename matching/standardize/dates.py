"""Dates and timestamps from the formats Chinese banking systems actually write.

Recognised (after NFKC, so full-width digits work):
- `1985-03-07`, `1985/3/7`, `1985.03.07`, `1985年3月7日`, each optionally followed by a time
  `HH:MM[:SS[.ffffff]]` after a space or `T` (the update timestamps).
- A time may carry its zone: `Z`, `UTC`, `+08`, `+0800`, `+08:00` (PostgreSQL writes
  `2025-07-30 18:38:09.096169+08`). The pipeline's timestamps are naive China time, so a
  value written in another zone is converted to UTC+8 (a fixed offset: China has kept no
  daylight saving time since 1991) and one written in +08 is kept as written.
- `19850307`, `20240101120000`, `20240101 12:00:00` (compact).
- `85-3-7`, `85/03/07`, `85年3月7日`: two-digit years pivot on the run date, a year not
  after this year's two digits is 20yy, otherwise 19yy (`85` -> 1985, `05` -> 2005 in 2025).
- Excel serial day numbers of five digits (`31113` -> 1985-03-07, days since 1899-12-30, a
  fraction is the time of day). Four-digit numbers are not read as serials: `1985` is far more
  likely a bare year than 1905-06-07.

The common exact formats go through pandas' C parser on the whole column, ISO 8601 with a
zone through arrow (a PostgreSQL export writes nothing else, every value distinct); every
other format is one vectorized regex over the distinct values left; the calendar check is
`pd.to_datetime` on the extracted parts with errors='coerce', so `1985-13-01` and `2001-02-30`
become NaT with the issue `impossible`.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.standardize._text import as_text, nfkc, none_if_nan, on_uniques, text_of

DateKind = Literal["birth_date", "timestamp"]

_TIME = (
    r"(?:[ T]+(?P<hour>\d{1,2})[:时](?P<minute>\d{1,2})"
    r"(?:[:分](?P<second>\d{1,2})(?:\.(?P<frac>\d{1,9}))?秒?)?)?"
)
# A zone ends the text: `Z` / `UTC` / `GMT` after any date or time, a numeric offset only
# after a clock (`1985-03-07` must not read as `1985-03` at offset -07) or a compact stamp.
_ZONED = (
    r"^(?P<body>.*?[\d秒])\s?(?:(?P<utc>[Zz]|UTC|GMT)"
    r"|(?P<sign>[+-])(?P<zone_hour>\d{2})(?::?(?P<zone_minute>\d{2}))?)$"
)
_ENDS_WITH_CLOCK = r"(?:\d[:分]\d{2}(?:\.\d+)?秒?|\d{14})$"
# The same for the arrow fast path (RE2): the shape PostgreSQL and ISO 8601 writers produce.
_ISO_ZONED = (
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[ T]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r" ?(?:Z|(?P<sign>[+-])(?P<zone_hour>\d{2})(?::?(?P<zone_minute>\d{2}))?)$"
)
_ISO_DATE = (("year", 4), ("month", 2), ("day", 2))
#: The pipeline's own zone, UTC+8, in minutes.
CHINA_OFFSET_MINUTES = 8 * 60
_SEPARATED = r"^(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?" + _TIME + "$"
_COMPACT = (
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?:[ T]?(?P<hour>\d{2}):?(?P<minute>\d{2})(?::?(?P<second>\d{2}))?)?$"
)
_TWO_DIGIT_YEAR = r"^(?P<year>\d{2})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?$"
_EXCEL_SERIAL = r"^(?P<serial>\d{5})(?:\.(?P<frac>\d+))?$"

_FAST_FORMATS = (
    ("%Y-%m-%d %H:%M:%S", 19),
    ("%Y-%m-%dT%H:%M:%S", 19),
    ("%Y/%m/%d %H:%M", 16),
    ("%Y-%m-%d", 10),
    ("%Y%m%d", 8),
)
_PARTS = ["year", "month", "day", "hour", "minute", "second"]
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
MIN_BIRTH_DATE = pd.Timestamp("1900-01-01")


def _from_parts(parts: pd.DataFrame) -> pd.Series:
    """Build timestamps from string parts; impossible calendar values become NaT."""
    nums = pd.DataFrame({p: pd.to_numeric(parts[p], errors="coerce") for p in _PARTS if p in parts})
    for p in ("hour", "minute", "second"):
        nums[p] = nums[p].fillna(0) if p in nums else 0
    stamps = pd.to_datetime(nums[_PARTS], errors="coerce")
    # to_datetime carries 25:00 over into the next day; a clock time that large is a typo.
    bad_clock = (nums["hour"] > 23) | (nums["minute"] > 59) | (nums["second"] > 59)
    stamps = stamps.mask(bad_clock)
    if "frac" in parts:
        stamps = stamps + _nanoseconds(parts["frac"])
    return stamps


def _nanoseconds(fraction: pd.Series) -> pd.Series:
    """Fraction-of-second digits (`096169`) as a timedelta, exactly (a float would be off by a
    microsecond now and then)."""
    digits = fraction.fillna("0").astype(str).str.ljust(9, "0").str.slice(0, 9)
    return pd.Series(
        pd.to_timedelta(pd.to_numeric(digits, errors="coerce").fillna(0).to_numpy(), unit="ns"),
        index=fraction.index,
    )


def _iso_with_zone(text: pd.Series) -> pd.Series:
    """`2025-07-30 18:38:09.096169+08` and the like (ISO 8601 with a zone), in China time:
    a whole column of them in arrow passes (they are nearly all distinct), NaT where a text
    is not one or its offset is no zone's (beyond ±14:00)."""
    array = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(array, _ISO_ZONED)
    found = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if not found.any():
        return value
    parts = parts.filter(pa.array(found))

    def number(name: str, width: int) -> np.ndarray:
        # Absent optional groups come out empty: right-padding makes them zeros.
        digits = pc.utf8_slice_codeunits(pc.utf8_rpad(parts.field(name), width, "0"), 0, width)
        return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)

    year, month, day = (number(name, width) for name, width in _ISO_DATE)
    hour, minute, second = (number(name, 2) for name in ("hour", "minute", "second"))
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + np.clip(day - 1, 0, 30)
    # 02-30 would spill into March: a date whose month changed was no calendar date.
    real = (month >= 1) & (month <= 12) & (day >= 1) & (dates.astype("datetime64[M]") == months)
    real &= (hour < 24) & (minute < 60) & (second < 60)
    zone_hours, zone_minutes = number("zone_hour", 2), number("zone_minute", 2)
    sign = np.where(parts.field("sign").to_numpy(zero_copy_only=False) == "-", -1, 1)
    seconds = hour * 3600 + minute * 60 + second
    shift = CHINA_OFFSET_MINUTES - sign * (zone_hours * 60 + zone_minutes)
    stamps = (
        dates.astype("datetime64[ns]")
        + seconds.astype("timedelta64[s]")
        + number("frac", 9).astype("timedelta64[ns]")
        + shift.astype("timedelta64[m]")
    )
    # Left for the slow path, which reports the calendar error (`impossible`).
    stamps[~real | (zone_hours > 14) | (zone_minutes > 59)] = np.datetime64("NaT")
    value.iloc[np.flatnonzero(found)] = stamps
    return value


def _fast_formats(text: pd.Series) -> pd.Series:
    """The formats the sources mostly write, through pandas' C parser; NaT where not one."""
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    array = text.to_numpy(dtype=object)
    length = pd.Series(
        np.fromiter((len(v) if type(v) is str else 0 for v in array), np.int64, len(array)),
        index=text.index,
    )
    for fmt, size in _FAST_FORMATS:
        todo = (length == size) & value.isna()
        if todo.any():
            value[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return value


def _split_zone(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The texts without a trailing zone, and each zone's offset from UTC in minutes (NaN
    where none was written). An offset no zone has (beyond ±14:00) is left in the text, which
    then parses as nothing."""
    parts = texts.str.extract(_ZONED)
    hours = pd.to_numeric(parts["zone_hour"], errors="coerce")
    minutes = pd.to_numeric(parts["zone_minute"], errors="coerce").fillna(0)
    numeric = (
        parts["sign"].notna()
        & parts["body"].str.contains(_ENDS_WITH_CLOCK, na=False)
        & (hours <= 14)
        & (minutes < 60)
    )
    sign = np.where(parts["sign"] == "-", -1.0, 1.0)
    minutes_east = sign * (hours * 60 + minutes).to_numpy(dtype=np.float64, na_value=np.nan)
    offset = np.where(numeric.to_numpy(dtype=bool), minutes_east, np.nan)
    offset[parts["utc"].notna().to_numpy(dtype=bool)] = 0.0
    zoned = pd.Series(offset, index=texts.index, dtype=np.float64)
    return texts.where(zoned.isna(), parts["body"]), zoned


def _parse_unique(texts: pd.Series, now: pd.Timestamp) -> pd.DataFrame:
    """The slow path: every other format, by regex, once per distinct text."""
    t = nfkc(texts).str.strip().str.replace(r"\s+", " ", regex=True)
    t, offset = _split_zone(t)
    value = _fast_formats(t)
    matched = value.notna()

    for pattern in (_SEPARATED, _COMPACT, _TWO_DIGIT_YEAR):
        parts = t[~matched].str.extract(pattern)
        hit = parts["year"].notna()
        if not hit.any():
            continue
        parts = parts[hit]
        if pattern is _TWO_DIGIT_YEAR:
            yy = parts["year"].astype(int)
            pivot = now.year % 100
            parts["year"] = np.where(yy <= pivot, 2000 + yy, 1900 + yy).astype(str)
        value.loc[parts.index] = _from_parts(parts)
        matched.loc[parts.index] = True

    serial = t[~matched].str.extract(_EXCEL_SERIAL)
    serial = serial[serial["serial"].notna()]
    if len(serial):
        days = serial["serial"].astype(float) + pd.to_numeric(
            "0." + serial["frac"].fillna("0"), errors="coerce"
        ).fillna(0.0)
        value.loc[serial.index] = _EXCEL_EPOCH + pd.to_timedelta(days.to_numpy(), unit="D")
        matched.loc[serial.index] = True

    zoned = offset.notna().to_numpy()
    if zoned.any():
        shift = CHINA_OFFSET_MINUTES - offset[zoned].to_numpy(dtype=np.float64)
        value[zoned] = value[zoned] + pd.to_timedelta(shift, unit="min")

    issue = pd.Series(None, index=t.index, dtype=object)
    issue[~matched] = "unparseable"
    issue[matched & value.isna()] = "impossible"
    return pd.DataFrame({"value": value, "issue": issue})


def parse_dates(
    values: pd.Series, *, kind: DateKind = "birth_date", now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Parse a column of date or timestamp texts.

    Returns a frame on the same index with `value` (datetime64[ns]; date-normalized for
    `birth_date`) and `issue`: NULL when fine or the input was empty, else `unparseable`,
    `impossible` (not a calendar date) and, for birth dates, `future` or `too_old` (< 1900).
    A value with an issue is NaT.
    """
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    text = as_text(values)
    # Timestamps are nearly all distinct: the common formats are parsed on the whole column
    # first, and only what they miss is cleaned and deduplicated for the regex path.
    value = _fast_formats(text)
    rest = text.notna() & value.isna()
    if rest.any():
        value[rest] = _iso_with_zone(text[rest])
    issue = pd.Series(None, index=text.index, dtype=object)
    rest = text.notna() & value.isna()
    if rest.any():
        slow = on_uniques(text[rest], lambda u: _parse_unique(u, now))
        value[rest] = slow["value"]
        issue[rest] = slow["issue"]
    if kind == "birth_date":
        value = value.dt.normalize()
        future = value > now.normalize()
        too_old = value < MIN_BIRTH_DATE
        issue[future] = "future"
        issue[too_old] = "too_old"
        value = value.mask(future | too_old)
    return pd.DataFrame({"value": value, "issue": none_if_nan(issue)}, index=values.index)


# The exact formats of `_FAST_FORMATS` a one-value parse settles without pandas (ASCII digits,
# as pandas' C parser reads them); any other text takes the column path.
_ONE_VALUE_FORMATS = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII),
    re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII),
    re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", re.ASCII),
)
# Years a nanosecond timestamp holds whole (pandas' bounds are 1677-09-21 to 2262-04-11).
_SAFE_YEARS = range(1678, 2262)


def parse_date(
    raw: object, *, kind: DateKind = "birth_date", now: pd.Timestamp | None = None
) -> tuple[pd.Timestamp | None, str | None]:
    """`parse_dates` for one value: (value, None where NaT; issue). A date or timestamp
    written in the common exact formats is read without pandas' column machinery; anything
    else (another format, a zone, a calendar error) takes the column path, so every rule
    stays in one place."""
    text = text_of(raw)
    if text is None:
        return None, None
    value: pd.Timestamp | None = None
    for pattern in _ONE_VALUE_FORMATS:
        found = pattern.fullmatch(text)
        if found is not None:
            parts = [int(p) for p in found.groups()]
            if parts[0] in _SAFE_YEARS:
                try:
                    value = pd.Timestamp(*parts)  # type: ignore[arg-type]  # y, m, d[, H, M, S]
                except ValueError:
                    value = None
            break
    if value is None:
        row = parse_dates(pd.Series([raw], dtype=object), kind=kind, now=now).iloc[0]
        issue, found_value = row["issue"], row["value"]
        return (
            None if pd.isna(found_value) else pd.Timestamp(found_value),
            None if issue is None else str(issue),
        )
    if kind == "birth_date":
        now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
        value = value.normalize()
        if value > now.normalize():
            return None, "future"
        if value < MIN_BIRTH_DATE:
            return None, "too_old"
    return value, None
