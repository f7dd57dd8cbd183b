"""E-mail addresses: lower-cased and syntax-checked (no mailbox lookup, no DNS)."""

from __future__ import annotations

import re
from unicodedata import normalize

import pandas as pd

from matching.standardize._text import as_text, nfkc, none_if_nan, text_of

# A pragmatic subset of RFC 5322 that real customer addresses use: dot-separated atoms in the
# local part, at least one dot in the domain, a letter-only top-level domain.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}"
_EMAIL_RE = re.compile(_EMAIL)
_MAX_LENGTH = 254


def normalize_emails(values: pd.Series) -> pd.DataFrame:
    """Returns `email` (lower-cased, NULL when empty or invalid) and `email_issue` (`invalid`).

    NFKC turns a full-width `＠` into `@`; the ideographic full stop `。`, a common slip of a
    Chinese input method, is read as `.`.
    """
    text = as_text(values)
    if text.isna().all():  # an unmapped column
        return pd.DataFrame({"email": text, "email_issue": text}, index=values.index)
    s = nfkc(text).str.replace("。", ".", regex=False).str.strip()
    s = s.str.lower()
    valid = s.str.fullmatch(_EMAIL, na=False) & (s.str.len() <= _MAX_LENGTH)
    return pd.DataFrame(
        {
            "email": none_if_nan(s.where(valid)),
            "email_issue": none_if_nan(
                pd.Series("invalid", index=s.index).where(s.notna() & ~valid)
            ),
        },
        index=values.index,
    )


def normalize_email(raw: object) -> tuple[str | None, str | None]:
    """`normalize_emails` for one value: (email, email_issue)."""
    text = text_of(raw)
    if text is None:
        return None, None
    s = normalize("NFKC", text).replace("。", ".").strip().lower()
    if _EMAIL_RE.fullmatch(s) and len(s) <= _MAX_LENGTH:
        return s, None
    return None, "invalid"
