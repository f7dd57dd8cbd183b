"""Matching throughput on synthetic Chinese-like party records.

    .venv/bin/python benchmarks/bench_matching.py            # 200,000 records
    .venv/bin/python benchmarks/bench_matching.py 1000000 --workers 2

Builds N canonical party records (people with one to three records across three systems,
with homophone and typo names, ID typos, day/month swaps, missing and changed mobiles,
abbreviated addresses, and a few twins), runs every matching step with the matching section
of mdm.yaml and prints each step's time, pairs per second for compare + predict (cold, and
again with the per-column encodings cached, the part that grows with pairs), the peak
memory (ru_maxrss) and the pairwise quality against the generator's truth.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching import MatchingConfig  # noqa: E402
from matching.blocking import block_pairs, prepare_records  # noqa: E402
from matching.comparison import RecordColumns  # noqa: E402
from matching.engine import (  # noqa: E402
    cluster,
    compare,
    decide,
    predict,
    train,
    zone_counts,
)
from matching.evaluation import blocking_recall, evaluate_clusters, evaluate_pairs  # noqa: E402

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("欧阳", "ouyang"), ("司马", "sima"), ("诸葛", "zhuge"),
]  # fmt: skip
SYLLABLES = [
    "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan",
    "jie", "juan", "tao", "ming", "chao", "xiu", "xia", "hua", "ping", "gang", "gui", "ying",
    "hui", "bo", "bin", "dan", "hao", "hong", "jian", "kai", "lan", "liang", "ling", "mei",
    "ning", "peng", "qing", "rong", "shan", "shu", "ting", "wen", "xin", "xue", "yu", "yun",
    "zhen", "zhi", "hai", "jia", "chun", "dong", "feng", "guang",
]  # fmt: skip
# Synthetic han characters: several share a syllable, so homophones occur as in real names.
GIVEN_CHARS = np.array([chr(0x4E00 + 97 * k) for k in range(240)], dtype=object)
GIVEN_PINYIN = np.array([SYLLABLES[k % len(SYLLABLES)] for k in range(240)], dtype=object)
DISTRICTS = [
    ("130102", "河北省", "石家庄市", "长安区"), ("130104", "河北省", "石家庄市", "桥西区"),
    ("130105", "河北省", "石家庄市", "新华区"), ("130202", "河北省", "唐山市", "路南区"),
    ("130203", "河北省", "唐山市", "路北区"), ("130302", "河北省", "秦皇岛市", "海港区"),
    ("130402", "河北省", "邯郸市", "邯山区"), ("130503", "河北省", "邢台市", "信都区"),
    ("130602", "河北省", "保定市", "竞秀区"), ("130702", "河北省", "张家口市", "桥东区"),
    ("131002", "河北省", "廊坊市", "安次区"), ("131102", "河北省", "衡水市", "桃城区"),
    ("110105", "北京市", "北京市", "朝阳区"), ("120101", "天津市", "天津市", "和平区"),
]  # fmt: skip
STREETS = np.array(["中山路", "建设路", "人民路", "和平路", "解放路", "胜利路", "育才路", "裕华路"])
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _digits(value: np.ndarray, width: int) -> np.ndarray:
    """(n, width) decimal digits of non-negative integers."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (value[:, None] // powers) % 10


def _ascii(matrix: np.ndarray) -> np.ndarray:
    """Rows of ASCII codes to Python strings."""
    rows = np.ascontiguousarray(matrix.astype(np.uint8))
    return rows.view(f"S{rows.shape[1]}").ravel().astype(str).astype(object)


def _resident_ids(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    body = np.hstack([_digits(region, 6), _digits(birth, 8), _digits(seq, 3)])
    check = CHECK_CHARS[(body @ ID_WEIGHTS) % 11]
    return _ascii(np.hstack([body + 48, check[:, None]]))


def synthesize_party_records(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(party records with the columns matching uses, truth record_key → person_id)."""
    rng = np.random.default_rng(seed)
    n_people = int(n / 1.6 * 1.05) + 10  # a little spare, trimmed to exactly n below
    copies = rng.choice([1, 2, 3], size=n_people, p=[0.55, 0.30, 0.15])

    # People.
    surname_weight = 1.0 / np.arange(1, len(SURNAMES) + 1)
    surname = rng.choice(len(SURNAMES), size=n_people, p=surname_weight / surname_weight.sum())
    given_1 = rng.integers(0, len(GIVEN_CHARS), n_people)
    given_2 = np.where(rng.random(n_people) < 0.7, rng.integers(0, len(GIVEN_CHARS), n_people), -1)
    birth_day = rng.integers(0, 65 * 365, n_people)
    birth = pd.to_datetime("1940-01-01") + pd.to_timedelta(birth_day, unit="D")
    district = rng.integers(0, len(DISTRICTS), n_people)
    street = rng.integers(0, len(STREETS), n_people)
    house = rng.integers(1, 300, n_people)
    mobile = 13_000_000_000 + rng.integers(0, 6_000_000_000, n_people)
    seq = rng.integers(0, 1000, n_people)

    # Twins: a second person with the family's surname, birth, address and phone.
    twin = rng.random(n_people) < 0.002
    twin_of = np.flatnonzero(twin) - 1
    twin_of = twin_of[twin_of >= 0]
    for array in (surname, birth_day, district, street, house, mobile):
        array[twin_of + 1] = array[twin_of]
    birth = pd.to_datetime("1940-01-01") + pd.to_timedelta(birth_day, unit="D")

    # Records: each person repeated, then perturbed.
    person = np.repeat(np.arange(n_people), copies)[:n]
    m = len(person)
    g1 = given_1[person].copy()
    g2 = given_2[person].copy()
    homophone = rng.random(m) < 0.05  # another character with the same syllable
    g1[homophone] = (g1[homophone] + len(SYLLABLES)) % len(GIVEN_CHARS)
    typo = rng.random(m) < 0.03
    g1[typo] = rng.integers(0, len(GIVEN_CHARS), int(typo.sum()))

    sur_char = np.array([s for s, _ in SURNAMES], dtype=object)[surname[person]]
    sur_pinyin = np.array([p for _, p in SURNAMES], dtype=object)[surname[person]]
    has_2 = g2 >= 0
    name = sur_char + GIVEN_CHARS[g1] + np.where(has_2, GIVEN_CHARS[np.maximum(g2, 0)], "")
    name_pinyin = (
        sur_pinyin
        + " "
        + GIVEN_PINYIN[g1]
        + np.where(has_2, " " + GIVEN_PINYIN[np.maximum(g2, 0)].astype(str), "")
    )

    region = np.array([int(d[0]) for d in DISTRICTS])[district[person]]
    birth_rec = birth[person]
    ymd = (birth_rec.year * 10000 + birth_rec.month * 100 + birth_rec.day).to_numpy()
    id_number = _resident_ids(region, ymd.astype(np.int64), seq[person])
    id_valid = np.ones(m, dtype=bool)
    id_typo = rng.random(m) < 0.03
    position = rng.integers(0, 17, m)
    chars = np.array([list(x) for x in id_number[id_typo]]) if id_typo.any() else None
    if chars is not None:
        rows = np.arange(len(chars))
        chars[rows, position[id_typo]] = np.where(chars[rows, position[id_typo]] == "1", "2", "1")
        id_number[id_typo] = ["".join(c) for c in chars]
        id_valid[id_typo] = False
    id_missing = rng.random(m) < 0.08
    id_number[id_missing] = None
    id_valid[id_missing] = False
    id_issue = np.where(id_missing, "missing", np.where(id_typo, "bad_check_digit", None))

    birth_values = birth_rec.to_numpy().copy()
    swap = (rng.random(m) < 0.03) & np.asarray(birth_rec.day <= 12)
    swapped = pd.to_datetime(
        pd.DataFrame({"year": birth_rec.year, "month": birth_rec.day, "day": birth_rec.month})[swap]
    )
    birth_values[swap] = swapped.to_numpy()
    birth_values[rng.random(m) < 0.05] = np.datetime64("NaT")

    mob = mobile[person].copy()
    changed = rng.random(m) < 0.15
    mob[changed] = 13_000_000_000 + rng.integers(0, 6_000_000_000, int(changed.sum()))
    mobile_text = mob.astype(str).astype(object)
    mobile_text[rng.random(m) < 0.2] = None

    d = np.array(DISTRICTS, dtype=object)[district[person]]
    province, city, dist = d[:, 1], d[:, 2], d[:, 3]
    street_text = STREETS[street[person]].astype(object) + house[person].astype(str) + "号"
    address = province + city + dist + street_text
    abbreviated = rng.random(m) < 0.3
    address[abbreviated] = city[abbreviated] + dist[abbreviated] + street_text[abbreviated]
    address[rng.random(m) < 0.05] = None

    gender = np.where(seq[person] % 2 == 1, "M", "F").astype(object)
    gender[rng.random(m) < 0.05] = None

    source = rng.choice(np.array(["core", "credit", "crm"], dtype=object), size=m)
    order = rng.permutation(m)
    record_key = source + ":" + pd.Series(order).map("{:09d}".format).to_numpy(dtype=object)
    records = pd.DataFrame(
        {
            "record_key": record_key,
            "source_system": source,
            "name": name,
            "name_pinyin": name_pinyin,
            "id_number": id_number,
            "id_valid": id_valid,
            "id_issue": id_issue.astype(object),
            "birth_date": birth_values,
            "gender": gender,
            "mobile": mobile_text,
            "phone_other": np.full(m, None, dtype=object),
            "address": address,
            "district": dist,
        }
    )
    truth = pd.DataFrame({"record_key": record_key, "person_id": person})
    return records, truth


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "size", nargs="?", type=int, default=200_000, help="number of party records"
    )
    parser.add_argument("--size", dest="size_option", type=int, help="the same, as an option")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="rapidfuzz threads (-1: all)")
    parser.add_argument("--config", type=Path, default=ROOT / "mdm.yaml")
    args = parser.parse_args(argv)
    if args.size_option is not None:
        args.size = args.size_option

    config = MatchingConfig.model_validate(
        yaml.safe_load(args.config.read_text(encoding="utf-8"))["matching"]
    )
    timings: dict[str, float] = {}

    def timed(step: str, start: float) -> None:
        timings[step] = time.perf_counter() - start

    start = time.perf_counter()
    records, truth = synthesize_party_records(args.size, args.seed)
    timed("synthesize", start)
    base_mb = _peak_mb()

    start = time.perf_counter()
    prepared = prepare_records(records, config)
    columns = RecordColumns(prepared)
    pairs, report = block_pairs(prepared, config, columns=columns)
    timed("block", start)

    start = time.perf_counter()
    gammas = compare(prepared, pairs, config, columns=columns, workers=args.workers)
    timed("compare", start)

    # Again with every column encoding cached: the cost that grows with pairs alone.
    start = time.perf_counter()
    compare(prepared, pairs, config, columns=columns, workers=args.workers)
    timed("compare (warm)", start)

    start = time.perf_counter()
    model = train(
        prepared,
        config,
        gammas,
        pairs=pairs,
        columns=columns,
        seed=args.seed,
        workers=args.workers,
    )
    timed("train (u sample + EM)", start)

    start = time.perf_counter()
    scored = predict(prepared, pairs, gammas, model, columns=columns)
    timed("predict", start)

    start = time.perf_counter()
    scored = decide(prepared, scored, config, columns=columns)
    timed("rules + zones", start)

    start = time.perf_counter()
    clustered = cluster(prepared, scored, config, columns=columns)
    timed("cluster", start)

    n_pairs = len(pairs)
    compare_predict = timings["compare"] + timings["predict"]
    print(f"records                 {len(records):>12,}")
    print(f"candidate pairs         {n_pairs:>12,}  (reduction ratio {report.reduction_ratio:.6f})")
    print(f"pairs per rule          {report.pairs_per_rule}")
    print(f"skipped blocks          {len(report.skipped_blocks)}")
    for step, seconds in timings.items():
        print(f"{step:<24}{seconds:>10.2f} s")
    warm = timings["compare (warm)"] + timings["predict"]
    print(f"compare + predict       {n_pairs / compare_predict:>12,.0f} pairs/s")
    print(f"  with encodings cached {n_pairs / warm:>12,.0f} pairs/s")
    print(f"peak memory (ru_maxrss) {_peak_mb():>10.0f} MB  (after synthesis {base_mb:.0f} MB)")
    print(f"zones                   {zone_counts(scored)}")
    print(f"review clusters         {len(clustered.review_clusters)}")
    print(f"blocking recall         {blocking_recall(pairs, truth).recall:.4f}")
    auto = evaluate_pairs(scored, truth)
    print(f"auto-match pairs        P {auto.precision:.4f}  R {auto.recall:.4f}  F1 {auto.f1:.4f}")
    quality = evaluate_clusters(clustered.clusters, truth)
    print(
        f"clusters                P {quality.precision:.4f}  R {quality.recall:.4f}"
        f"  F1 {quality.f1:.4f}"
    )


if __name__ == "__main__":
    main()
