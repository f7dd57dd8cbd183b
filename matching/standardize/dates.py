"""Dates and timestamps from the formats Chinese banking systems actually write.

Recognised (after NFKC, so full-width digits work):
- `1985-03-07`, `1985/3/7`, `1985.03.07`, `1985年3月7日`, each optionally followed by a time
  `HH:MM[:SS[.ffffff]]` after a space or `T` (the update timestamps) and a trailing `Z` or
  UTC offset, which is dropped: the sources all write China time.
- `19850307`, `20240101120000`, `20240101 12:00:00` (compact).
- `85-3-7`, `85/03/07`, `85年3月7日`: two-digit years pivot on the run date, a year not
  after this year's two digits is 20yy, otherwise 19yy (`85` -> 1985, `05` -> 2005 in 2025).
- Excel serial day numbers of five digits (`31113` -> 1985-03-07, days since 1899-12-30, a
  fraction is the time of day). Four-digit numbers are not read as serials: `1985` is far more
  likely a bare year than 1905-06-07.

The common exact formats go through pandas' C parser on the whole column; every other format
is one vectorized regex over the distinct values left; the calendar check is
`pd.to_datetime` on the extracted parts with errors='coerce', so `1985-13-01` and `2001-02-30`
become NaT with the issue `impossible`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from matching.standardize._text import as_text, nfkc, none_if_nan, on_uniques

DateKind = Literal["birth_date", "timestamp"]

_TIME = (
    r"(?:[ T]+(?P<hour>\d{1,2})[:时](?P<minute>\d{1,2})"
    r"(?:[:分](?P<second>\d{1,2})(?:\.(?P<frac>\d{1,9}))?秒?)?)?"
)
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})?"
_SEPARATED = (
    r"^(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?" + _TIME + _ZONE + "$"
)
_COMPACT = (
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?:[ T]?(?P<hour>\d{2}):?(?P<minute>\d{2})(?::?(?P<second>\d{2}))?)?" + _ZONE + "$"
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
        frac = pd.to_numeric("0." + parts["frac"].fillna("0"), errors="coerce").fillna(0.0)
        stamps = stamps + pd.to_timedelta(frac.to_numpy(), unit="s")
    return stamps


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


def _parse_unique(texts: pd.Series, now: pd.Timestamp) -> pd.DataFrame:
    """The slow path: every other format, by regex, once per distinct text."""
    t = nfkc(texts).str.strip().str.replace(r"\s+", " ", regex=True)
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
