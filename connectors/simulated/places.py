"""Places: administrative divisions, street addresses, branches, landlines, employers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from matching.standardize.addresses import PROVINCE_ABBREVIATIONS as ABBREVIATION_PROVINCES

from ._arrays import STR, cat, num, zpad

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DIVISIONS_CSV = PROJECT_ROOT / "matching" / "standardize" / "reference" / "admin_divisions.csv"

# Residents outside Hebei (Beijing commuters, people who moved in) are few; people *born*
# outside Hebei, whose resident ID carries another province's code, are more.
RESIDENT_OUTSIDE_HEBEI = 0.03
BORN_OUTSIDE_HEBEI = 0.12
BORN_WHERE_THEY_LIVE = 0.75
# Urban districts of the big cities hold more people than a county-level city.
POPULOUS_DISTRICTS = {
    "130102": 3.0, "130104": 3.0, "130105": 2.5, "130108": 3.0,  # 石家庄 urban
    "130202": 2.0, "130203": 2.0,  # 唐山
    "130602": 2.0, "130606": 2.0,  # 保定
    "130402": 1.5, "130403": 1.5,  # 邯郸
    "131002": 1.5, "131003": 1.5,  # 廊坊
}  # fmt: skip

STREETS = (
    "中山东路", "中山西路", "建设大街", "裕华东路", "裕华西路", "和平东路", "和平西路",
    "胜利北街", "胜利南街", "育才街", "体育大街", "平安大街", "友谊大街", "红旗大街",
    "槐安东路", "石岗大街", "新华路", "人民路", "解放路", "光明路", "建华大街", "翟营大街",
    "塔南路", "跃进路", "学府路", "北二环东路", "南二环西路", "长征街", "东风路", "朝阳路",
    "文化路", "新石路", "联盟路", "维明街", "民族路", "青园街", "燕赵大街", "中华大街",
    "世纪大道", "迎宾路", "学院路", "车站路", "五一路", "复兴路", "滨河路", "团结路",
    "振兴路", "富强路", "建国路", "府前街",
)  # fmt: skip
COMMUNITIES = (
    "阳光小区", "翠苑小区", "华苑小区", "盛世家园", "和平小区", "育才小区", "怡然城",
    "世纪花园", "金色家园", "幸福小区", "丽景苑", "锦绣江南", "东方明珠", "紫金山庄",
    "青年城", "祥和家园", "铁路宿舍", "电力小区", "棉一生活区", "春江花月",
)  # fmt: skip

# One-character province abbreviations, as on licence plates and in legacy forms (冀保定…): the
# standardizer's table read the other way, its usual abbreviation for each province.
PROVINCE_ABBREVIATIONS: dict[str, str] = {}
for _abbreviation, _province in ABBREVIATION_PROVINCES.items():
    PROVINCE_ABBREVIATIONS.setdefault(_province, _abbreviation)

# Address styles of `render_address`.
FULL, SHORT, NO_PROVINCE, PROVINCE_ABBREVIATED = range(4)

# The ways a flat (today's `5栋2单元301`) gets written: what replaces 栋, what replaces 单元,
# what follows the room number.
FLAT_FORMS = (
    ("号楼", "单元", ""),  # 5号楼2单元301
    ("幢", "单元", "室"),  # 5幢2单元301室
    ("#", "-", ""),  # 5#2-301
    ("号楼", "-", ""),  # 5号楼2-301
    ("-", "-", ""),  # 5-2-301
)

# Long-distance area codes by city; a landline is `<code>-<8 digits>`.
AREA_CODES = {
    "石家庄市": "0311", "唐山市": "0315", "秦皇岛市": "0335", "邯郸市": "0310",
    "邢台市": "0319", "保定市": "0312", "张家口市": "0313", "承德市": "0314",
    "沧州市": "0317", "廊坊市": "0316", "衡水市": "0318", "北京市": "010",
    "天津市": "022", "太原市": "0351", "济南市": "0531", "郑州市": "0371",
}  # fmt: skip

# The bank's branches: (code, name, city). Cities without a branch bank at the head office's
# city, 石家庄.
BRANCHES = (
    ("B0101", "石家庄长安支行", "石家庄市"), ("B0102", "石家庄桥西支行", "石家庄市"),
    ("B0103", "石家庄裕华支行", "石家庄市"), ("B0104", "石家庄新华支行", "石家庄市"),
    ("B0105", "石家庄正定支行", "石家庄市"), ("B0201", "唐山路北支行", "唐山市"),
    ("B0202", "唐山路南支行", "唐山市"), ("B0301", "秦皇岛海港支行", "秦皇岛市"),
    ("B0401", "邯郸丛台支行", "邯郸市"), ("B0501", "邢台襄都支行", "邢台市"),
    ("B0601", "保定竞秀支行", "保定市"), ("B0701", "张家口桥东支行", "张家口市"),
    ("B0901", "沧州运河支行", "沧州市"), ("B1001", "廊坊广阳支行", "廊坊市"),
    ("B1101", "衡水桃城支行", "衡水市"),
)  # fmt: skip
BRANCH_CODES = np.array([b[0] for b in BRANCHES], dtype=object)
HOME_BRANCH_SHARE = 0.85  # customers bank where they live; the rest anywhere

EMPLOYERS = (
    "河钢集团有限公司", "长城汽车股份有限公司", "石家庄市第一医院", "河北医科大学第二医院",
    "河北师范大学", "河北工业大学", "中国石油华北油田公司", "开滦（集团）有限责任公司",
    "国网河北省电力有限公司", "中国移动通信集团河北有限公司", "石家庄市第二中学",
    "唐山三友化工股份有限公司", "以岭药业股份有限公司", "石药集团有限责任公司",
    "华北制药集团有限责任公司", "晶龙实业集团有限公司", "英利集团有限公司",
    "新奥集团股份有限公司", "河北建设集团股份有限公司", "保定市人民政府", "石家庄市公安局",
    "河北省人民医院", "君乐宝乳业集团有限公司", "唐山港集团股份有限公司",
    "冀中能源集团有限责任公司", "北国商城股份有限公司", "个体工商户", "自由职业", "退休",
)  # fmt: skip


@dataclass(frozen=True)
class Divisions:
    adcode: np.ndarray  # int
    province: np.ndarray  # object
    city: np.ndarray
    district: np.ndarray
    full_prefix: np.ndarray  # 河北省石家庄市长安区 / 北京市海淀区
    short_prefix: np.ndarray  # 河北石家庄长安区 / 北京海淀区
    no_province_prefix: np.ndarray  # 石家庄市长安区 / 北京市海淀区
    abbreviated_prefix: np.ndarray  # 冀石家庄长安区 / 京海淀区
    residence_p: np.ndarray
    birthplace_p: np.ndarray
    area_code: np.ndarray  # landline area code of the division's city
    branch_choices: tuple[np.ndarray, ...]  # per division: indexes into BRANCHES

    def __len__(self) -> int:
        return len(self.adcode)


def _strip_suffix(text: str) -> str:
    return text[:-1] if text.endswith(("省", "市")) else text


@lru_cache(maxsize=1)
def divisions() -> Divisions:
    with DIVISIONS_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    province = [r["province"] for r in rows]
    city = [r["city"] for r in rows]
    district = [r["district"] for r in rows]
    municipal = [p == c for p, c in zip(province, city, strict=True)]
    full = [
        p + ("" if m else c) + d
        for p, c, d, m in zip(province, city, district, municipal, strict=True)
    ]
    short = [
        _strip_suffix(p) + ("" if m else _strip_suffix(c)) + d
        for p, c, d, m in zip(province, city, district, municipal, strict=True)
    ]
    no_prov = [c + d for c, d in zip(city, district, strict=True)]
    # Where a province has no abbreviation on file, the short form stands in.
    abbreviated = [
        PROVINCE_ABBREVIATIONS[p] + ("" if m else _strip_suffix(c)) + d
        if p in PROVINCE_ABBREVIATIONS
        else s
        for p, c, d, m, s in zip(province, city, district, municipal, short, strict=True)
    ]
    hebei = np.array([p == "河北省" for p in province])
    weight = np.array([POPULOUS_DISTRICTS.get(r["adcode"], 1.0) for r in rows])
    residence = _mix(weight, hebei, RESIDENT_OUTSIDE_HEBEI)
    birthplace = _mix(weight, hebei, BORN_OUTSIDE_HEBEI)
    branch_city = [b[2] for b in BRANCHES]
    fallback = [i for i, c in enumerate(branch_city) if c == "石家庄市"]
    choices = tuple(
        np.array([i for i, bc in enumerate(branch_city) if bc == c] or fallback) for c in city
    )
    return Divisions(
        adcode=np.array([int(r["adcode"]) for r in rows]),
        province=np.array(province, dtype=object),
        city=np.array(city, dtype=object),
        district=np.array(district, dtype=object),
        full_prefix=np.array(full, dtype=object),
        short_prefix=np.array(short, dtype=object),
        no_province_prefix=np.array(no_prov, dtype=object),
        abbreviated_prefix=np.array(abbreviated, dtype=object),
        residence_p=residence,
        birthplace_p=birthplace,
        area_code=np.array([AREA_CODES.get(c, "0311") for c in city], dtype=object),
        branch_choices=choices,
    )


def _mix(weight: np.ndarray, hebei: np.ndarray, outside_share: float) -> np.ndarray:
    inside = np.where(hebei, weight, 0.0)
    outside = np.where(hebei, 0.0, weight)
    return inside / inside.sum() * (1 - outside_share) + outside / outside.sum() * outside_share


def street_details(rng: np.random.Generator, n: int) -> np.ndarray:
    """The part after the district: 中山东路123号5栋2单元301, sometimes with a 小区 name."""
    street = np.array(STREETS, dtype=object)[rng.integers(len(STREETS), size=n)]
    number = num(rng.integers(1, 400, n))
    building = num(rng.integers(1, 31, n))
    unit = num(rng.integers(1, 7, n))
    room = num(rng.integers(1, 34, n)) + zpad(rng.integers(1, 5, n), 2)
    with_community = rng.random(n) < 0.3
    community = np.where(
        with_community,
        np.array(COMMUNITIES, dtype=object)[rng.integers(len(COMMUNITIES), size=n)],
        "",
    )
    flat = cat(building, "栋", unit, "单元", room)
    # A house on the street itself (older neighbourhoods) has no building or flat number.
    house = rng.random(n) < 0.1
    return cat(street, number, "号", community, np.where(house, "", flat))


def draw_divisions(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    return rng.choice(len(p), size=n, p=p)


def render_address(div_idx: np.ndarray, detail: np.ndarray, style: np.ndarray) -> np.ndarray:
    """style FULL (河北省石家庄市…), SHORT (河北石家庄…), NO_PROVINCE (石家庄市…) or
    PROVINCE_ABBREVIATED (冀石家庄…)."""
    prefixes = _prefix_table()
    return cat(prefixes[np.asarray(style, dtype=np.int64), div_idx], detail)


@lru_cache(maxsize=1)
def _prefix_table() -> np.ndarray:
    """(style, division) -> prefix: one gather per address, whatever the style."""
    d = divisions()
    return np.stack([d.full_prefix, d.short_prefix, d.no_province_prefix, d.abbreviated_prefix])


def rewrite_flats(rng: np.random.Generator, detail: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`detail` with the flat of the given rows written in one of FLAT_FORMS (rows without a
    flat, a house on the street, stay as they are)."""
    out = np.asarray(detail, dtype=object).copy()
    if not len(rows):
        return out
    text = out[rows].astype(STR)
    flat = np.strings.find(text, "栋") >= 0
    form = rng.integers(len(FLAT_FORMS), size=len(rows))
    for k, (building, unit, tail) in enumerate(FLAT_FORMS):
        pick = np.flatnonzero(flat & (form == k))
        written = np.strings.replace(np.strings.replace(text[pick], "栋", building), "单元", unit)
        if tail:
            written = np.strings.add(written, tail)
        out[rows[pick]] = written.astype(object)
    return out


def has_flat(detail: np.ndarray) -> np.ndarray:
    """Whether each street detail names a building and flat (not a house on the street)."""
    if not len(detail):
        return np.zeros(0, dtype=bool)
    return np.asarray(np.strings.find(np.asarray(detail, dtype=object).astype(STR), "栋") >= 0)


def branches_for(rng: np.random.Generator, div_idx: np.ndarray) -> np.ndarray:
    """A branch code per customer: mostly in the customer's city."""
    d = divisions()
    out = rng.integers(len(BRANCHES), size=len(div_idx))
    home = rng.random(len(div_idx)) < HOME_BRANCH_SHARE
    for k in np.unique(div_idx):
        rows = np.flatnonzero(home & (div_idx == k))
        options = d.branch_choices[k]
        out[rows] = options[rng.integers(len(options), size=len(rows))]
    return BRANCH_CODES[out]
