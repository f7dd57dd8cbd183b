"""How often a standardized value is the person's true value, per field.

With a simulated source (`connectors.simulated`), every record's true person is known
(`ground_truth.parquet`) and so are that person's true attributes (`people.parquet`, in the
standardized form). Comparing the two measures the standardization itself: a record
counts as correct for a field when its standardized value equals the true one.

A wrong value is not always the standardizer's fault: a record may hold a stale mobile or
address, a mistyped ID, or a name only in pinyin (`ZHANG WEI` is never the true `张伟`, while
its `name_pinyin` is right). The shares are what matching can count on, field by field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Fields scored, in report order.
ACCURACY_FIELDS = (
    "id_number",
    "name_pinyin",
    "mobile",
    "birth_date",
    "name",
    "gender",
    "address",
)
_DATE_FIELDS = frozenset({"birth_date"})
ACCURACY_COLUMNS = (
    "field",
    "records",
    "filled",
    "correct",
    "share_correct",
    "share_correct_of_filled",
)


def _as_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def standardization_accuracy(
    party_records: pd.DataFrame,
    ground_truth: pd.DataFrame,
    people: pd.DataFrame,
    fields: Sequence[str] = ACCURACY_FIELDS,
) -> pd.DataFrame:
    """Per field, the share of party records whose standardized value is their person's.

    `party_records`: `record_key` and the fields (mdm.party_records); `ground_truth`:
    `record_key`, `person_id`; `people`: `person_id` and the fields' true values. Only records
    of a real person are judged (a junk row that escaped quarantine has no true value).

    Returns one row per field: `records` judged, `filled` (the standardized value is not
    NULL), `correct` (equal to the true value), `share_correct` = correct / records and
    `share_correct_of_filled` = correct / filled (NaN when the denominator is 0).
    """
    missing = [f for f in fields if f not in party_records.columns or f not in people.columns]
    if missing:
        raise KeyError(f"fields missing from party_records or people: {missing}")
    truth = ground_truth.loc[ground_truth["person_id"].notna(), ["record_key", "person_id"]]
    judged = party_records[["record_key", *fields]].merge(
        truth, on="record_key", how="inner", validate="one_to_one"
    )
    judged = judged.merge(
        people[["person_id", *fields]],
        on="person_id",
        how="left",
        suffixes=("", "_true"),
        validate="many_to_one",
    )
    rows = []
    for field in fields:
        value, true = judged[field], judged[f"{field}_true"]
        if field in _DATE_FIELDS:
            value, true = _as_dates(value), _as_dates(true)
        else:
            value, true = value.astype(object), true.astype(object)
        filled = value.notna()
        correct = filled & true.notna() & (value == true)
        rows.append((field, len(judged), int(filled.sum()), int(correct.sum())))
    out = pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS[:4]))
    for column in ("records", "filled", "correct"):
        out[column] = out[column].astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_correct"] = out["correct"] / out["records"].where(out["records"] > 0)
        out["share_correct_of_filled"] = out["correct"] / out["filled"].where(out["filled"] > 0)
    return out
