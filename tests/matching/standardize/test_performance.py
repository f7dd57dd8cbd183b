import time

import pandas as pd
import pytest

from matching.standardize import SourceMapping, standardize_source
from tests.matching.standardize.synthetic import synthetic_core_rows

CORE = SourceMapping(
    "core",
    "cust_no",
    {
        "name": "cust_name",
        "id_type": "cert_type",
        "id_number": "cert_no",
        "gender": "gender_cd",
        "birth_date": "birth_dt",
        "mobile": "mobile_no",
        "address": "addr",
        "updated_at": "last_upd_ts",
    },
    1,
    id_type_codes={"01": "resident_id", "02": "passport"},
    gender_codes={"1": "M", "2": "F"},
)


@pytest.mark.slow
def test_two_hundred_thousand_rows_standardize_in_seconds():
    raw = synthetic_core_rows(200_000)
    started = time.perf_counter()
    result = standardize_source(raw, CORE, batch_id="perf", now=pd.Timestamp("2025-01-01"))
    elapsed = time.perf_counter() - started
    print(f"standardize_source on {len(raw):,} rows: {elapsed:.1f}s")
    assert len(result.records) + len(result.quarantine) == len(raw)
    # Measured ~4s on 2 shared cores; 60s only catches an accidental per-row Python path.
    assert elapsed < 60
