"""One value a caller types → the form `matching.standardize` stores, for lookups by key.

The read API finds customers by resident ID, mobile or name. Normalizing the caller's value
with the same rules that standardized the source records is what guarantees a stored value
is found however it is written: full-width digits, spaces and dashes, `+86`, an old 15-digit
ID, traditional characters, a latin name in either order. Each field module has a one-value
path beside its column path (`resident_id_number`, `mobile_number`, `standardize_name`): the
same patterns and tables on one str, microseconds instead of the column path's milliseconds
of pandas overhead, which a lookup answered in a few milliseconds cannot afford.
"""

from __future__ import annotations

from matching.standardize.ids import resident_id_number
from matching.standardize.names import standardize_name
from matching.standardize.phones import mobile_number


def lookup_resident_id(raw: str) -> str | None:
    """The `id_number` stored for this written document number; None when nothing is left.

    Not validated: a number with a wrong check digit is stored as written, so it is looked
    up as written too.
    """
    return resident_id_number(raw)


def lookup_mobile(raw: str) -> str | None:
    """The `mobile` stored for this written number; None unless it is a customer's mobile."""
    return mobile_number(raw)


def lookup_name(raw: str) -> tuple[str | None, str | None]:
    """(`name`, `name_pinyin`) stored for this written name; pinyin only for a latin name.

    A name in characters is looked up by its characters alone: its pinyin is shared by every
    homophone, so matching on it would return strangers.
    """
    row = standardize_name(raw)
    if row is None:
        return None, None
    name, pinyin, script = row[0], row[1], row[2]
    return name, pinyin if script == "latin" else None
