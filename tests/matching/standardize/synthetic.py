"""Synthetic core-banking party rows for the performance smoke check.

Varied on purpose: most values are distinct (keys, IDs, mobiles, street numbers, timestamps)
and names repeat the way real ones do, so the distinct-value shortcuts are not flattered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.standardize.ids import check_digits

SURNAMES = [*list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓韩冯曹彭曾肖田董"), "欧阳"]
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉婷飞鑫宇浩然子轩国庆建")
ADDRESSES = [
    "河北石家庄长安区中山路{}号",
    "河北省石家庄市桥西区自强路{}号",
    "张家口桥西区明德街{}号",
    "北京市朝阳区建国路{}号",
    "天津和平区南京路{}号",
    "河北省唐山市路南区新华道{}号",
    "保定莲池区东风路{}号院",
    "中山路{}号",
]
AREAS = ["130102", "130104", "130703", "110105", "120101", "130202", "130606"]


def synthetic_core_rows(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    surnames = rng.choice(SURNAMES, n)
    given = rng.choice(GIVEN, (n, 2))
    two_char = rng.random(n) < 0.6
    names = [
        s + g[0] + (g[1] if t else "") for s, g, t in zip(surnames, given, two_char, strict=True)
    ]
    noise = rng.random(n)
    names = [
        f"{x}先生" if r < 0.03 else (x.replace("张", "張").replace("伟", "偉") if r < 0.06 else x)
        for x, r in zip(names, noise, strict=True)
    ]
    names = [("测试" if r > 0.998 else x) for x, r in zip(names, noise, strict=True)]

    births = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 23000, n), unit="D")
    birth_text = births.strftime("%Y%m%d")
    area = rng.choice(AREAS, n)
    seq = rng.integers(0, 1000, n)
    first17 = pd.Series([a + b + f"{s:03d}" for a, b, s in zip(area, birth_text, seq, strict=True)])
    ids = (first17 + check_digits(first17)).to_numpy(dtype=object)
    id_noise = rng.random(n)
    ids[id_noise < 0.02] = [x[:6] + x[8:17] for x in ids[id_noise < 0.02]]  # 15-digit
    ids[(id_noise >= 0.02) & (id_noise < 0.03)] = None
    ids[(id_noise >= 0.03) & (id_noise < 0.04)] = [
        x[:10] + "9" + x[11:] for x in ids[(id_noise >= 0.03) & (id_noise < 0.04)]
    ]
    mobiles = [
        f"1{p}{m:09d}"
        for p, m in zip(rng.integers(3, 10, n), rng.integers(0, 10**9, n), strict=True)
    ]
    phone_noise = rng.random(n)
    mobiles = [
        f"+86 {m[:3]}-{m[3:7]}-{m[7:]}" if r < 0.1 else ("0311-85551234" if r < 0.12 else m)
        for m, r in zip(mobiles, phone_noise, strict=True)
    ]
    addresses = [
        ADDRESSES[i].format(k)
        for i, k in zip(rng.integers(0, len(ADDRESSES), n), rng.integers(1, 500, n), strict=True)
    ]
    updated = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")
    gender = np.where(seq % 2 == 1, "1", "2").astype(object)
    gender[rng.random(n) < 0.05] = None
    return pd.DataFrame(
        {
            "cust_no": [f"C{i:09d}" for i in range(n)],
            "cust_name": names,
            "cert_type": "01",
            "cert_no": ids,
            "gender_cd": gender,
            "birth_dt": birth_text,
            "mobile_no": mobiles,
            "addr": addresses,
            "last_upd_ts": updated.strftime("%Y-%m-%d %H:%M:%S"),
            "_batch_id": "perf",
            "_row_hash": "x",
            "_extracted_at": "2024-06-01T00:00:00",
        }
    )
