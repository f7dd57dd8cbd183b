"""A row standardized alone (`standardize_row`) is what `standardize_source` makes of it.

Checked field by field on every party row of every simulated source of both banks (each
source with its own mapping and codes) and on generated rows of messy values, so that the
one-value path `POST /match` standardizes a prospect with cannot drift from the batch's.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.extract import read_source_table
from connectors.settings import PROJECT_ROOT
from connectors.simulated import simulate
from matching.online import CANDIDATE_FIELDS
from matching.standardize import SourceMapping, standardize_source
from matching.standardize.party import PARTY_COLUMNS
from matching.standardize.record import record_frame, standardize_row
from pipelines.mdm_config import load_config
from tests.conftest import write_pipeline_config

NOW = pd.Timestamp("2026-11-28 12:00:00")
SECOND_BANK = PROJECT_ROOT / "examples" / "second_bank"


def assert_same(raw: pd.DataFrame, source: SourceMapping) -> int:
    """The batch's records and quarantine rules equal the rows' alone, for every row whose key
    the batch does not repeat (a repeated key is the batch's decision: `duplicate_key`)."""
    key = raw[source.key_column].astype(str).str.strip()
    raw = raw[~key.duplicated(keep=False)].reset_index(drop=True)
    batch = standardize_source(raw, source, batch_id="b", now=NOW)
    records, rules = [], {}
    for row in raw.to_dict("records"):
        alone = standardize_row(row, source, batch_id="b", now=NOW)
        if alone.record is not None:
            records.append(alone.record)
        else:
            rules[f"{source.source_system}:{str(row[source.key_column]).strip()}"] = alone.rule
    mine = record_frame(records).set_index("record_key").sort_index()
    theirs = batch.records.set_index("record_key").sort_index()
    pd.testing.assert_index_equal(mine.index, theirs.index)
    for column in mine.columns:
        pd.testing.assert_series_equal(mine[column], theirs[column], obj=column)
    quarantined = dict(
        zip(
            source.source_system + ":" + batch.quarantine["source_record_id"].astype(str),
            batch.quarantine["rule"],
            strict=True,
        )
    )
    assert rules == quarantined
    return len(raw)


def mappings(config: Path) -> list[tuple[SourceMapping, pd.DataFrame]]:
    out = []
    for system, source in load_config(config).sources.items():
        mapping = SourceMapping.from_config(system, source.model_dump())
        # Documents kept in a table of their own take the column path: the party table's own
        # document column is what is compared here.
        mapping = dataclasses.replace(mapping, identifiers=None)
        out.append((mapping, read_source_table(source, source.party_table, system=system)))
    return out


def test_every_demo_bank_row_alone_is_the_batch_row(
    simulated_sources: Path, tmp_path: Path
) -> None:
    config = write_pipeline_config(simulated_sources, tmp_path / "mdm.yaml")
    rows = sum(assert_same(raw, mapping) for mapping, raw in mappings(config))
    assert rows > 2000


def test_every_second_bank_row_alone_is_the_batch_row(tmp_path: Path) -> None:
    shutil.copy(SECOND_BANK / "mdm.yaml", tmp_path / "mdm.yaml")
    simulate(
        tmp_path / "sources", people=800, seed=11, as_of=date(2026, 11, 28), shape="second_bank"
    )
    rows = sum(assert_same(raw, mapping) for mapping, raw in mappings(tmp_path / "mdm.yaml"))
    assert rows > 1000


# Generated rows: each field drawn from the shapes sources write, clean and broken ------------

CANONICAL = SourceMapping(
    source_system="gen",
    key_column="key",
    # The fields a prospect may carry, and the two only a source sends.
    mapping={f: f for f in (*CANDIDATE_FIELDS, "updated_at", "branch_no")},
    trust_rank=1,
    id_type_codes={
        "01": "resident_id",
        "02": "passport",
        "99": "unknown",
        "resident_id": "resident_id",
    },
    gender_codes={"U": "unknown", "9": "unknown"},
)


def pieces(*options: str) -> st.SearchStrategy[str]:
    return st.sampled_from(options)


def joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


DIGITS = st.text("0123456789", min_size=0, max_size=4)
NAMES = st.one_of(
    pieces(
        "张伟", "張偉", "欧阳娜娜", "王 芳", "李先生", "测试", "ZHANG WEI", "Wei Zhang", "Zhāng Wěi"
    ),
    pieces("阿卜杜·热合曼", "张三公司", "  ", "", "123", "Mr. John SMITH", "李A", "无名氏", "XXX"),
    st.text("张王李伟芳娜 ·.ABCabc先生", max_size=6),
)
IDS = st.one_of(
    pieces("110101199003077778", "11010119900307777X", "110101900307777", "130102198503070031"),
    pieces(
        "440***********1234", "4403********1234X", "E12345678", "H12345678", "810000199001011234"
    ),
    pieces("91010119900307777X", "ABC123456789012", "1101011990030777", "0101011990030777"),
    pieces("110101 19900307 7778", "１１０１０１１９９００３０７７７７８", "110101-1990-0307-777x"),
    joined(pieces("1101011", "130102", "8"), DIGITS, pieces("", "X", "x", "*", "#")),
)
DATES = st.one_of(
    pieces("1990-03-07", "1990/3/7", "1990年3月7日", "19900307", "90-3-7", "31113", "1990-02-30"),
    pieces("2030-01-01", "1899-12-31", "1990-13-01", "0000-00-00", "1990-03-07 08:00:00"),
    pieces("1990-03-07T08:00:00+08:00", "1990-03-07 25:00:00", "１９９０－０３－０７", "abc"),
    st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(lambda d: d.isoformat()),
    st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(lambda d: d.strftime("%Y%m%d")),
)
PHONES = st.one_of(
    pieces("13812345678", "+86 138-1234-5678", "008613812345678", "8613812345678", "13800000000"),
    pieces("0311-85551234", "+852 9123 4567", "4008001234", "13812345678/13912345678", "123"),
    pieces("１３８１２３４５６７８", "138 1234 5678 转 12", "+1 415 555 0100", "95588", ""),
    joined(pieces("1", "13", "+86"), st.text("0123456789 -", max_size=11)),
)
ADDRESSES = st.one_of(
    pieces("北京市东城区王府井大街1号", "河北石家庄长安区中山路3号", "冀保定莲池区东风路5号院"),
    pieces("中国广东省深圳市南山区科技园", "张家口桥西区明德街2号", "中山路8号", "  ", "津南区1号"),
    pieces("上海市浦东新区5-2-301", "吉林市船营区24号楼3单元101室", "河南石家庄长安区", "ＸＸ路"),
    joined(
        pieces("", "河北省", "河北", "北京市", "广东"),
        pieces("", "石家庄市", "石家庄", "唐山", "深圳市"),
        pieces("", "长安区", "路南区", "南山区", "桥西区"),
        pieces("", "中山路12号", "5-2-301", " 24# ", "1栋5-103"),
    ),
)
GENDERS = pieces("M", "F", "男", "女", "1", "2", "U", "9", "x", "", "female", "ｍ")
ID_TYPES = pieces("01", "02", "99", "", "resident_id", "zz")
EMAILS = pieces("a@b.com", "A＠B。COM", "bad@", "x.y@mail.example.cn", "", "a@b.c")


@st.composite
def generated_row(draw: st.DrawFn) -> dict[str, object]:
    def maybe(strategy: st.SearchStrategy[str]) -> str | None:
        return draw(st.one_of(st.none(), strategy))

    return {
        "key": draw(pieces("k1", " k1 ", "")),
        "name": maybe(NAMES),
        "name_latin": maybe(pieces("ZHANG WEI", "Li Na", "TEST", "")),
        "id_type": maybe(ID_TYPES),
        "id_number": maybe(IDS),
        "gender": maybe(GENDERS),
        "birth_date": maybe(DATES),
        "mobile": maybe(PHONES),
        "phone": maybe(PHONES),
        "email": maybe(EMAILS),
        "address": maybe(ADDRESSES),
        "updated_at": maybe(DATES),
        "branch_no": maybe(pieces(" 0101 ", "", "0202")),
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_row())
def test_a_generated_row_alone_is_the_batch_row(row: dict[str, object]) -> None:
    raw = pd.DataFrame([row], dtype=object)
    batch = standardize_source(raw, CANONICAL, batch_id="b", now=NOW)
    alone = standardize_row(row, CANONICAL, batch_id="b", now=NOW)
    if len(batch.quarantine):
        assert alone.record is None
        assert alone.rule == batch.quarantine["rule"].iloc[0]
        return
    assert alone.record is not None, alone.rule
    pd.testing.assert_frame_equal(record_frame([alone.record]), batch.records)


def test_a_source_with_an_identifiers_table_is_refused() -> None:
    from matching.standardize.party import IdentifierMapping

    source = dataclasses.replace(
        CANONICAL, identifiers=IdentifierMapping(table="ids", key_column="k", number_column="n")
    )
    with pytest.raises(ValueError, match="identifiers"):
        standardize_row({"key": "1"}, source, batch_id="b")


def test_record_frame_types_as_the_batch() -> None:
    row = dict.fromkeys(CANONICAL.mapping.values()) | {"key": "1", "name": "张伟"}
    alone = standardize_row(row, CANONICAL, batch_id="b", now=NOW)
    assert alone.record is not None
    frame = record_frame([alone.record])
    assert dict(frame.dtypes.astype(str)) == PARTY_COLUMNS
    assert frame["birth_date"].isna().all() and np.all(frame["id_valid"] == False)  # noqa: E712
