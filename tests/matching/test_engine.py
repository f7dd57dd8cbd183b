"""The whole matching run on a small bank-like data set, and the model as an artifact."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from connectors.settings import PROJECT_ROOT
from matching import (
    FellegiSunterModel,
    MatchingConfig,
    candidate_pairs,
    cluster,
    compare,
    link,
    scored_pair_columns,
)
from matching.comparison import RecordColumns
from matching.engine import rule_masks_for

COLUMNS = [
    "record_key", "source_system", "name", "name_pinyin", "id_number", "id_valid",
    "birth_date", "gender", "mobile", "address", "district", "person",
]  # fmt: skip

# Canonical party records of 11 people (`person` is the truth, not used by matching).
ROWS = [
    # 张伟, three systems: credit has the same valid ID and name (deterministic match); the CRM
    # copy has no ID, a day/month-swapped birth date and an abbreviated address.
    ("core:C001", "core", "张伟", "zhang wei", "130102199003071234", True, dt.date(1990, 3, 7),
     "M", "13800000001", "河北省石家庄市长安区中山路1号", "长安区", 1),
    ("credit:B001", "credit", "张伟", "zhang wei", "130102199003071234", True,
     dt.date(1990, 3, 7), "M", "13800000001", "石家庄市长安区中山路1号", "长安区", 1),
    ("crm:R001", "crm", "张伟", "zhang wei", None, None, dt.date(1990, 7, 3), "M",
     "13800000001", "河北省石家庄市长安区中山路1号", "长安区", 1),
    # Another 张伟 in the same district: a namesake, nothing else in common.
    ("core:C002", "core", "张伟", "zhang wei", "130102198505052219", True, dt.date(1985, 5, 5),
     "M", "13812345678", "河北省石家庄市长安区建设路5号", "长安区", 2),
    # 欧阳婧: the CRM copy lacks the ID.
    ("core:C003", "core", "欧阳婧", "ouyang jing", "130105199212123325", True,
     dt.date(1992, 12, 12), "F", "13900000003", "河北省石家庄市新华区和平路3号", "新华区", 3),
    ("crm:R003", "crm", "欧阳婧", "ouyang jing", None, None, dt.date(1992, 12, 12), "F",
     "13900000003", "石家庄市新华区和平路3号", "新华区", 3),
    # Twins 李明 / 李亮: one birth date, address and phone, two valid IDs. The CRM record of 李明
    # has no ID, so it could chain the twins together.
    ("core:C004", "core", "李明", "li ming", "130202200005050011", True, dt.date(2000, 5, 5),
     "M", "13700000004", "河北省唐山市路南区人民路4号", "路南区", 4),
    ("core:C005", "core", "李亮", "li liang", "130202200005050038", True, dt.date(2000, 5, 5),
     "M", "13700000004", "河北省唐山市路南区人民路4号", "路南区", 5),
    ("crm:R004", "crm", "李明", "li ming", None, None, dt.date(2000, 5, 5), "M", "13700000004",
     "河北省唐山市路南区人民路4号", "路南区", 4),
    # 王芳: the credit copy has a one-digit ID typo (so invalid) and no mobile.
    ("core:C006", "core", "王芳", "wang fang", "130503197801154446", True, dt.date(1978, 1, 15),
     "F", "13600000006", "河北省邢台市信都区育才路6号", "信都区", 6),
    ("credit:B006", "credit", "王芳", "wang fang", "130503197801154456", False,
     dt.date(1978, 1, 15), "F", None, "邢台市信都区育才路6号", "信都区", 6),
    # 陈静 / 陈婧: a homophone, new mobile.
    ("core:C007", "core", "陈静", "chen jing", "130602198811114567", True, dt.date(1988, 11, 11),
     "F", "13500000007", "河北省保定市竞秀区裕华路7号", "竞秀区", 7),
    ("crm:R007", "crm", "陈婧", "chen jing", "130602198811114567", True, dt.date(1988, 11, 11),
     "F", "13500000070", "河北省保定市竞秀区裕华路7号", "竞秀区", 7),
    # 赵敏 in two systems, identical.
    ("core:C009", "core", "赵敏", "zhao min", "131002199509094321", True, dt.date(1995, 9, 9),
     "F", "13300000009", "河北省廊坊市安次区东风路9号", "安次区", 9),
    ("credit:B009", "credit", "赵敏", "zhao min", "131002199509094321", True,
     dt.date(1995, 9, 9), "F", "13300000009", "河北省廊坊市安次区东风路9号", "安次区", 9),
    # 周杰: the credit copy misses the ID and the gender.
    ("core:C011", "core", "周杰", "zhou jie", "131102197207076543", True, dt.date(1972, 7, 7),
     "M", "13100000011", "河北省衡水市桃城区友谊路11号", "桃城区", 11),
    ("credit:B011", "credit", "周杰", "zhou jie", None, None, dt.date(1972, 7, 7), None,
     "13100000011", "衡水市桃城区友谊路11号", "桃城区", 11),
    # People with one record.
    ("core:C008", "core", "杨磊", "yang lei", "130702196606066789", True, dt.date(1966, 6, 6), "M",
     "13200000008", "河北省张家口市桥东区胜利路8号", "桥东区", 8),
    ("core:C010", "core", "黄丽", "huang li", "130402198012125678", True, dt.date(1980, 12, 12),
     "F", "13000000010", "河北省邯郸市邯山区解放路10号", "邯山区", 10),
    ("crm:R012", "crm", "刘洋", "liu yang", "130302199111118765", True, dt.date(1991, 11, 11),
     "M", "15000000012", "河北省秦皇岛市海港区建设路12号", "海港区", 12),
]  # fmt: skip


SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
SURNAME_PINYIN = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo"
)
GIVEN = list("军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥")
GIVEN_PINYIN = (
    "jun yang yong yan jie juan tao ming chao xiu xia ping gang gui ying hua yu ping hong e"
)
DISTRICTS = ["长安区", "桥西区", "新华区", "路南区", "路北区", "竞秀区", "信都区", "桃城区"]


def filler(n: int = 400) -> pd.DataFrame:
    """People with one record each, so that random pairs look like a real customer base.

    Without them u would be estimated from 20 records whose pairs are largely matches.
    """
    rng = np.random.default_rng(11)
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN), n)
    district = rng.integers(0, len(DISTRICTS), n)
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20_000, n), unit="D")
    surname_pinyin = np.array(SURNAME_PINYIN.split())[surname]
    given_pinyin = np.array(GIVEN_PINYIN.split())[given]
    return pd.DataFrame(
        {
            "record_key": [f"core:F{i:04d}" for i in range(n)],
            "source_system": "core",
            "name": np.array(SURNAMES)[surname] + np.array(GIVEN)[given],
            "name_pinyin": np.char.add(np.char.add(surname_pinyin, " "), given_pinyin),
            "id_number": [f"1301{k:014d}" for k in rng.integers(0, 10**14, n)],
            "id_valid": True,
            "birth_date": [d.date() for d in birth],
            "gender": rng.choice(["M", "F"], n),
            "mobile": [f"186{k:08d}" for k in rng.integers(0, 10**8, n)],
            "address": [
                f"河北省某市{DISTRICTS[d]}幸福路{k}号"
                for d, k in zip(district, rng.integers(1, 999, n), strict=True)
            ],
            "district": np.array(DISTRICTS)[district],
            "person": 1000 + np.arange(n),
        }
    )


def party_records() -> pd.DataFrame:
    records = pd.concat([pd.DataFrame(ROWS, columns=COLUMNS), filler()], ignore_index=True)
    # What the standardizer says about each ID: nothing when valid.
    issue = np.where(records["id_number"].isna(), "missing", "bad_check_digit")
    records["id_issue"] = pd.Series(issue, dtype=object).where(~records["id_valid"].eq(True))
    records["phone_other"] = None
    return records


def shipped_config(**overrides: object) -> MatchingConfig:
    section = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))["matching"]
    section.update(overrides)
    return MatchingConfig.model_validate(section)


def same_cluster(clusters: pd.DataFrame, a: str, b: str) -> bool:
    cluster_id = clusters.set_index("record_key")["cluster_id"]
    return bool(cluster_id[a] == cluster_id[b])


@pytest.fixture(scope="module")
def result():
    return link(party_records(), shipped_config())


def test_outputs_follow_the_contract(result):
    config = shipped_config()
    assert result.scored_pairs.columns.tolist() == scored_pair_columns(config)
    assert scored_pair_columns(config)[3:9] == [
        "gamma_name", "gamma_id_number", "gamma_birth_date", "gamma_gender", "gamma_mobile",
        "gamma_address",
    ]  # fmt: skip
    pairs = result.scored_pairs
    assert pairs["blocking_rule"].dtype == object  # plain VARCHAR, not a categorical
    assert (pairs.filter(like="gamma_").dtypes == np.int8).all()
    assert (pairs["record_key_l"] < pairs["record_key_r"]).all()
    assert set(pairs["zone"]) <= {"auto_match", "review", "non_match"}
    assert sum(result.zone_counts.values()) == len(pairs)
    assert result.clusters.columns.tolist() == ["record_key", "cluster_id", "cluster_size"]
    assert sorted(result.clusters["record_key"]) == sorted(party_records()["record_key"])
    assert result.blocking_report.total_pairs == len(pairs)


def test_every_person_with_several_records_is_one_cluster_and_no_two_people_share_one(result):
    truth = party_records().set_index("record_key")["person"]
    clusters = result.clusters.assign(person=lambda c: c["record_key"].map(truth))
    assert (clusters.groupby("person")["cluster_id"].nunique() == 1).all()
    assert (clusters.groupby("cluster_id")["person"].nunique() == 1).all()


def test_same_valid_id_and_name_is_decided_by_the_rule(result):
    pairs = result.scored_pairs.set_index(["record_key_l", "record_key_r"])
    pair = pairs.loc[("core:C001", "credit:B001")]
    assert pair["deterministic_rule"] == "same_id_and_name"
    assert pair["zone"] == "auto_match"
    assert pair["match_probability"] == 1.0


def test_twins_are_never_auto_merged_even_through_a_third_record(result):
    pairs = result.scored_pairs.set_index(["record_key_l", "record_key_r"])
    twins = pairs.loc[("core:C004", "core:C005")]
    assert twins["zone"] != "auto_match"
    assert not same_cluster(result.clusters, "core:C004", "core:C005")
    # The ID-less CRM record stays with 李明, whose name it shares.
    assert same_cluster(result.clusters, "core:C004", "crm:R004")


def test_namesake_in_the_same_district_is_a_candidate_scored_a_non_match(result):
    # 张伟 and 张伟 share a name and a district only: the pinyin + district rule pairs them
    # (it finds true pairs whose ID, birth date and mobile all differ), the model keeps them
    # apart: everything but the name disagrees.
    pairs = result.scored_pairs.set_index(["record_key_l", "record_key_r"])
    assert pairs.loc[("core:C001", "core:C002"), "zone"] == "non_match"
    assert not same_cluster(result.clusters, "core:C001", "core:C002")


def test_model_json_round_trip_gives_identical_predictions(result):
    text = result.model.to_json()
    loaded = FellegiSunterModel.from_json(text)
    assert loaded.to_json() == text
    again = link(party_records(), shipped_config(), model=loaded)
    pd.testing.assert_frame_equal(again.scored_pairs, result.scored_pairs)
    pd.testing.assert_frame_equal(again.clusters, result.clusters)


def test_model_artifact_names_its_config_and_tables(result):
    config = shipped_config()
    payload = __import__("json").loads(result.model.to_json())
    assert payload["config_hash"] == config.config_hash()
    assert payload["comparisons_hash"] == config.comparisons_hash()
    name = payload["comparisons"][0]
    assert name["tf"] == {"gamma": 5, "column": "name"}
    assert [level["label"] for level in name["levels"]] == [
        "else", "one character differs", "look-alike character", "same syllables",
        "same pinyin", "exact name",
    ]  # fmt: skip
    assert 0 < payload["prior_match_probability"] < 1


def test_explain_sums_to_the_match_weight_for_every_pair(result):
    records = party_records().sort_values("record_key", ignore_index=True)
    tf = result.model.term_frequencies(records)
    for _, row in result.scored_pairs.iterrows():
        parts = result.model.explain(row, records, tf)
        assert parts[0][0] == "prior"
        assert [p[0] for p in parts[1:]] == [c.name for c in shipped_config().comparisons]
        assert math.fsum(p[2] for p in parts) == pytest.approx(row["match_weight"], abs=1e-9)


def test_explain_of_an_exact_common_name_shows_its_term_frequency(result):
    records = party_records().sort_values("record_key", ignore_index=True)
    row = result.scored_pairs.set_index(["record_key_l", "record_key_r"]).loc[
        ("core:C001", "crm:R001")
    ]
    row = pd.concat([row, pd.Series({"record_key_l": "core:C001", "record_key_r": "crm:R001"})])
    name = dict((c, (label, bits)) for c, label, bits in result.model.explain(row, records))
    # 张伟 is 4 of the 420 names: u_tf = 4 / 420.
    assert name["name"][0] == f"exact name (term frequency {4 / 420:.3g})"
    with pytest.raises(ValueError, match="pass the records"):
        result.model.explain(row)


def test_steward_decisions_override_the_model():
    records = party_records()
    result = link(
        records,
        shipped_config(),
        must_link=pd.DataFrame({"record_key_l": ["core:C008"], "record_key_r": ["core:C010"]}),
        cannot_link=pd.DataFrame({"record_key_l": ["core:C009"], "record_key_r": ["credit:B009"]}),
    )
    assert same_cluster(result.clusters, "core:C008", "core:C010")
    assert not same_cluster(result.clusters, "core:C009", "credit:B009")


def test_records_lacking_a_configured_column_are_refused():
    with pytest.raises(ValueError, match="mobile"):
        link(party_records().drop(columns=["mobile"]), shipped_config())


def test_duplicate_record_keys_are_refused():
    records = party_records()
    with pytest.raises(ValueError, match="not unique"):
        link(pd.concat([records, records.iloc[:1]]), shipped_config())


def test_same_seed_same_result():
    first = link(party_records(), shipped_config(), seed=5)
    second = link(party_records().sample(frac=1.0, random_state=1), shipped_config(), seed=5)
    pd.testing.assert_frame_equal(first.scored_pairs, second.scored_pairs)
    assert first.model.to_json() == second.model.to_json()
    assert np.isfinite(first.scored_pairs["match_weight"]).all()


def test_em_does_not_learn_from_pairs_a_never_auto_match_rule_holds_for(result):
    config = shipped_config()
    prepared, pairs, _ = candidate_pairs(party_records(), config)
    columns = RecordColumns(prepared)
    gammas = compare(prepared, pairs, config, columns=columns)
    masks = rule_masks_for(config, columns, pairs, gammas)
    held = np.zeros(len(pairs), dtype=bool)
    for rule in config.deterministic_rules:
        if rule.decision == "never_auto_match" and rule.exclude_from_training:
            held |= masks[rule.name]
    # names_one_character_apart opts out: its pairs are mostly plain non-matches.
    assert not {r.name: r for r in config.deterministic_rules}[
        "names_one_character_apart"
    ].exclude_from_training
    # The twins 李明 / 李亮 (two valid IDs) are such a pair.
    twins = (pairs["record_key_l"] == "core:C004") & (pairs["record_key_r"] == "core:C005")
    assert held[twins.to_numpy()].all()
    training = result.model.training
    assert training["candidate_pairs"] == len(pairs)
    assert training["em_pairs"] == len(pairs) - int(held.sum()) < len(pairs)


def test_link_times_every_stage(result):
    stages = ["block", "compare", "train", "predict", "cluster"]
    assert list(result.timings) == stages
    assert list(result.cpu_timings) == stages
    assert all(seconds >= 0 for seconds in result.timings.values())


def test_cluster_step_accepts_the_contract_table_without_positions(result):
    config = shipped_config()
    prepared, _, _ = candidate_pairs(party_records(), config)
    again = cluster(prepared, result.scored_pairs, config)  # record keys only, no idx_l/idx_r
    pd.testing.assert_frame_equal(again.clusters, result.clusters)
