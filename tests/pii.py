"""What an unmasked resident ID or mobile looks like in text a test reads back."""

from __future__ import annotations

import re

UNMASKED = re.compile(r"(?<!\d)(\d{17}[\dX]|1[3-9]\d{9})(?!\d)")
# Generated pages carry UUIDs (GX's dataContextId); a random hex group now and then holds eleven
# decimal digits that look like a mobile (roughly one page in a thousand, by the arithmetic of
# random hex), which failed the report test in CI.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def find_unmasked(text: str) -> str | None:
    """The first full resident ID or mobile in ``text``, UUIDs aside; None when there is none."""
    found = UNMASKED.search(_UUID.sub("", text))
    return found.group(0) if found else None
