"""What an unmasked resident ID or mobile looks like in text a test reads back."""

from __future__ import annotations

import re

UNMASKED = re.compile(r"(?<!\d)(\d{17}[\dX]|1[3-9]\d{9})(?!\d)")
# Generated pages carry UUIDs (GX's dataContextId); their hex groups now and then hold eleven
# digits that look like a mobile, which made the report test fail about one run in two hundred.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def find_unmasked(text: str) -> str | None:
    """The first full resident ID or mobile in ``text``, UUIDs aside; None when there is none."""
    found = UNMASKED.search(_UUID.sub("", text))
    return found.group(0) if found else None
