"""The tables docs/CONTRACTS.md lists and the columns it names for each, read from its text.

A table is documented by a paragraph that opens with it (`` `mdm.xref`: `record_key`, … ``)
or, for the canonical party record, by the column table under its heading. The columns are the
backticked names in the paragraph's first sentence, leaving out what stands in parentheses
(values and explanations: `` `zone` (`auto_match` / `review`) ``) and what comes before the
sentence's last colon (`` undecided `review`-zone pairs: `run_id`, … ``); a placeholder such as
`` `gamma_<comparison>` `` is not a column name.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md"
SCHEMAS = ("mdm", "dq", "marts", "canonical")
_OPENING = re.compile(rf"^`((?:{'|'.join(SCHEMAS)})\.[a-z_0-9]+)`:\s*(.*)$", re.S)
_NAME = re.compile(r"`([a-z][a-z0-9_]*)`")


def _without_parentheses(text: str) -> str:
    kept, depth, in_code = [], 0, False
    for char in text:
        if char == "`":
            in_code = not in_code
        if not in_code and char == "(":
            depth += 1
            continue
        if not in_code and char == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            kept.append(char)
    return "".join(kept)


def _first_sentence(text: str) -> str:
    in_code = False
    for position, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif not in_code and char in ".;" and text[position + 1 : position + 2] in (" ", "\n", ""):
            # A sentence ends at a full stop; a list of tables in one paragraph at a semicolon.
            return text[:position]
    return text


def _after_last_colon(text: str) -> str:
    in_code, last = False, -1
    for position, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif not in_code and char == ":":
            last = position
    return text[last + 1 :]


def documented_columns(path: Path = CONTRACTS) -> dict[str, list[str]]:
    """Table → the columns CONTRACTS.md names for it."""
    text = path.read_text(encoding="utf-8")
    tables: dict[str, list[str]] = {}
    for paragraph in re.split(r"\n\s*\n", text):
        opening = _OPENING.match(paragraph.strip())
        if opening is None:
            continue
        table, rest = opening.groups()
        sentence = _after_last_colon(_first_sentence(_without_parentheses(rest)))
        tables[table] = _NAME.findall(sentence)
    party = text.split("## 3. Canonical party record: `mdm.party_records`", 1)[1]
    rows = re.findall(r"^\| ([a-z_][a-z_0-9, ]*) \|", party.split("\n\n", 2)[1], re.M)
    tables["mdm.party_records"] = [
        name.strip() for row in rows if row != "column" for name in row.split(",")
    ]
    return tables
