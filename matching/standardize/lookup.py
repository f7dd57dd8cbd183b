"""One value a caller types → the form `matching.standardize` stores, for lookups by key.

The read API finds customers by resident ID, mobile or name. Normalizing the caller's value
with the same functions that standardized the source records is what guarantees a stored
value is found however it is written: full-width digits, spaces and dashes, `+86`, an old
15-digit ID, traditional characters, a latin name in either order. These wrappers cost about
a millisecond a call, which a lookup can afford.
"""

from __future__ import annotations

import pandas as pd

from matching.standardize.ids import normalize_resident_ids
from matching.standardize.names import standardize_names
from matching.standardize.phones import normalize_phones


def _first(frame: pd.DataFrame, column: str) -> str | None:
    value = frame[column].iloc[0]
    return None if value is None or pd.isna(value) else str(value)


def lookup_resident_id(raw: str) -> str | None:
    """The `id_number` stored for this written document number; None when nothing is left.

    Not validated: a number with a wrong check digit is stored as written, so it is looked
    up as written too.
    """
    return _first(normalize_resident_ids(pd.Series([raw], dtype=object)), "id_number")


def lookup_mobile(raw: str) -> str | None:
    """The `mobile` stored for this written number; None unless it is a mainland mobile."""
    return _first(normalize_phones(pd.Series([raw], dtype=object)), "mobile")


def lookup_name(raw: str) -> tuple[str | None, str | None]:
    """(`name`, `name_pinyin`) stored for this written name; pinyin only for a latin name.

    A name in characters is looked up by its characters alone: its pinyin is shared by every
    homophone, so matching on it would return strangers.
    """
    row = standardize_names(pd.Series([raw], dtype=object))
    pinyin = _first(row, "name_pinyin") if _first(row, "name_script") == "latin" else None
    return _first(row, "name"), pinyin
