"""Addresses: province, city, district and adcode from free text, and one normalized form.

The reference is `reference/admin_divisions.csv` (adcode, province, city, district; a
municipality is its own city: 北京市, 北京市, 东城区). Chinese addresses are written from the
largest division down, so the parser reads prefixes: an optional province, then an optional
city, then an optional district, each the longest known name at that position. Province and
city may be abbreviated (河北, 石家庄); an abbreviation counts only when the next character is
not a division suffix, so 吉林市 is the city, not 吉林(省) + 市.

Resolution, most specific wins:
- a city fixes the province (河南石家庄… -> 河北省, flagged inconsistent);
- a district is looked up under the city, else under the province, else alone; a name in
  several cities (桥西区: 石家庄 and 张家口) without a city keeps the district name but no
  district adcode; a district not under the city written is left in the street text.
`address` is then the full form `河北省石家庄市长安区` + the rest, digits half-width, no
whitespace; `adcode` is the district's code, else the city's (`130100`), else the province's
(`130000`).

Addresses are nearly all distinct, but the few characters where a division can stand are
not: each level is matched once per distinct prefix of the longest name's length (a few
thousand at most), the combinations of divisions found are resolved once each, and the
per-row work (slicing off what was read, prepending the canonical form) is arrow compute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from unicodedata import normalize

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.standardize._text import as_text, nfkc, none_if_nan, text_of

_COUNTRY = r"^(?:中华人民共和国|中国)"
_DIVISION_SUFFIX = frozenset("省市区县旗盟州")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_CITY_SUFFIX = re.compile(r"(?:地区|市|盟)$")

_REFERENCE = resources.files("matching.standardize") / "reference"

#: One-character province abbreviations (冀保定… on forms and in legacy systems), the usual
#: one first where a province has two (川 / 蜀). Taken only when a city or district of that
#: province follows (津南区 is a district, not 津 + 南区).
PROVINCE_ABBREVIATIONS = {
    "京": "北京市", "津": "天津市", "冀": "河北省", "晋": "山西省", "蒙": "内蒙古自治区",
    "辽": "辽宁省", "吉": "吉林省", "黑": "黑龙江省", "沪": "上海市", "苏": "江苏省",
    "浙": "浙江省", "皖": "安徽省", "闽": "福建省", "赣": "江西省", "鲁": "山东省",
    "豫": "河南省", "鄂": "湖北省", "湘": "湖南省", "粤": "广东省", "桂": "广西壮族自治区",
    "琼": "海南省", "渝": "重庆市", "川": "四川省", "蜀": "四川省", "贵": "贵州省",
    "黔": "贵州省", "云": "云南省", "滇": "云南省", "藏": "西藏自治区", "陕": "陕西省",
    "秦": "陕西省", "甘": "甘肃省", "陇": "甘肃省", "青": "青海省", "宁": "宁夏回族自治区",
    "新": "新疆维吾尔自治区", "港": "香港特别行政区", "澳": "澳门特别行政区", "台": "台湾省",
}  # fmt: skip

# Building, unit and room written many ways, in one form (the one most systems write):
# 24号楼 / 24幢 / 24# -> 24栋; 24栋5-103 -> 24栋5单元103; 5-2-301 -> 5栋2单元301; 103室 -> 103.
# RE2 (arrow) patterns and replacements, applied in order to the part after the divisions.
_FLAT_FORMS: tuple[tuple[str, str], ...] = (
    (r"(\d+)(?:号楼|幢|#楼?)", r"\1栋"),
    (r"(\d+)-(\d+)-(\d+)", r"\1栋\2单元\3"),
    (r"栋(\d+)-(\d+)", r"栋\1单元\2"),
    (r"单元(\d+)室", r"单元\1"),
)
_OTHER_FLAT_FORM = r"号楼|幢|#|-|单元\d+室"


@dataclass(frozen=True)
class _Names:
    """Written form -> canonical name, for one level; `short` forms need a non-suffix after."""

    full: dict[str, str]
    short: dict[str, str]

    def lengths(self) -> list[int]:
        return self._lengths

    @cached_property
    def _lengths(self) -> list[int]:
        return sorted({len(k) for k in (*self.full, *self.short)}, reverse=True)

    @cached_property
    def canonical(self) -> list[str]:
        """Every canonical name of the level, sorted: what `_prefix_stage` indexes into."""
        return sorted(set(self.full.values()) | set(self.short.values()))

    @cached_property
    def position(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.canonical)}


@cache
def admin_divisions() -> pd.DataFrame:
    """The reference table, adcode as text."""
    with (_REFERENCE / "admin_divisions.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str)


def _names(canonical: pd.Series, suffix: re.Pattern[str] | None) -> _Names:
    full = {n: n for n in canonical.unique()}
    short: dict[str, str] = {}
    if suffix is not None:
        for name in full:
            abbreviation = suffix.sub("", name)
            if len(abbreviation) >= 2 and abbreviation not in full:
                short[abbreviation] = name
    return _Names(full, short)


@cache
def _levels() -> tuple[_Names, _Names, _Names]:
    table = admin_divisions()
    return (
        _names(table["province"], _PROVINCE_SUFFIX),
        _names(table["city"], _CITY_SUFFIX),
        _names(table["district"], None),
    )


def _match_prefix(texts: Sequence[str], names: _Names) -> tuple[list[str | None], list[int]]:
    """Longest known name at the start of each text: (canonical or None, characters used).

    Plain Python over the texts: its callers pass the distinct prefixes, a few thousand at
    most even at a million rows, and one alone for a single record (`POST /match`), where a
    vectorized pass per candidate length costs milliseconds of pandas overhead. A text
    shorter than a length is taken whole at that length (as a slice does), and a short form
    counts only when no division suffix (`_DIVISION_SUFFIX`) follows it.
    """
    lengths = names.lengths()
    full, short = names.full, names.short
    found: list[str | None] = []
    used: list[int] = []
    for text in texts:
        hit, width = None, 0
        for length in lengths:
            head = text[:length]
            hit = full.get(head)
            if hit is None and text[length : length + 1] not in _DIVISION_SUFFIX:
                hit = short.get(head)
            if hit is not None:
                width = length
                break
        found.append(hit)
        used.append(width)
    return found, used


@cache
def _lookup() -> dict[str, pd.DataFrame]:
    table = admin_divisions()
    return {
        "city": table.drop_duplicates("city").set_index("city"),
        "province_code": table.assign(code=table["adcode"].str[:2] + "0000")
        .drop_duplicates("province")
        .set_index("province"),
    }


#: What `parse_addresses` returns per row.
ADDRESS_COLUMNS = ("address", "province", "city", "district", "adcode", "address_issue")

_RESOLVED_COLUMNS = (
    "province",
    "city",
    "district",
    "adcode",
    "prefix",
    "district_used",
    "address_issue",
)


@lru_cache(maxsize=1 << 14)
def _resolve(province: str | None, city: str | None, district: str | None) -> dict[str, object]:
    """One combination of written divisions -> canonical parts, adcode, issue (cached: a
    single address resolves in microseconds the combination a batch already met; the dict
    is shared, never changed)."""
    table = admin_divisions()
    cities = _lookup()["city"]
    issue = None
    if city is not None:
        city_province = str(cities.at[city, "province"])
        if province is not None and province != city_province:
            issue = "inconsistent"
        province = city_province
    elif province is not None and province in cities.index:
        city = province  # a municipality is its own city
    adcode = None
    district_used = district is not None
    if district is not None:
        rows = table[table["district"] == district]
        if city is not None:
            rows = rows[rows["city"] == city]
        elif province is not None:
            rows = rows[rows["province"] == province]
        if len(rows) == 1:
            province, city = rows.iloc[0]["province"], rows.iloc[0]["city"]
            adcode = rows.iloc[0]["adcode"]
        elif len(rows) == 0:
            issue, district, district_used = "inconsistent", None, False
    if adcode is None and city is not None:
        adcode = str(cities.at[city, "adcode"])[:4] + "00"
    if adcode is None and province is not None:
        adcode = _lookup()["province_code"].at[province, "code"]
    if province is None and city is None and district is None:
        issue = "unresolved"
    prefix = "".join(
        p for p in (province, city if city != province else None, district) if p is not None
    )
    return {
        "province": province,
        "city": city,
        "district": district,
        "adcode": adcode,
        "prefix": prefix,
        "district_used": district_used,
        "address_issue": issue,
    }


def _prefix_stage(text: pa.Array, names: _Names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Longest known name at the start of each text, matched once per distinct prefix.

    Returns per row the index of the canonical name found (-1: none) and the characters it
    used, and the list the index points into.
    """
    canonical, position = names.canonical, names.position
    # One character more than the longest name: an abbreviation needs the one after it.
    keys = pc.utf8_slice_codeunits(text, 0, max(names.lengths()) + 1).dictionary_encode()
    codes = pc.fill_null(keys.indices, -1).to_numpy(zero_copy_only=False)
    distinct = keys.dictionary.to_pylist()
    if not distinct:
        return np.full(len(text), -1), np.zeros(len(text), dtype=np.int64), canonical
    found, used = _match_prefix(distinct, names)
    found_index = np.array([-1 if f is None else position[f] for f in found])
    safe = np.maximum(codes, 0)
    index = np.where(codes >= 0, found_index[safe], -1)
    width = np.where(codes >= 0, np.asarray(used, dtype=np.int64)[safe], 0)
    return index, width, canonical


def _drop(text: pa.Array, used: np.ndarray) -> pa.Array:
    """Each text without its first `used` characters.

    Arrow slices strings by one start for all; so rows are sorted by their count, each run
    sliced at once, and the result put back in row order.
    """
    counts = np.unique(used)
    if len(counts) == 1:
        return text if counts[0] == 0 else pc.utf8_slice_codeunits(text, int(counts[0]))
    order = np.argsort(used, kind="stable")
    ordered, ordered_used = text.take(pa.array(order)), used[order]
    starts = np.flatnonzero(np.r_[True, np.diff(ordered_used) != 0])
    ends = np.r_[starts[1:], len(order)]
    pieces = [
        pc.utf8_slice_codeunits(ordered.slice(a, b - a), int(ordered_used[a]))
        for a, b in zip(starts, ends, strict=True)
    ]
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return pa.concat_arrays(pieces).take(pa.array(back))


def _combine(
    *levels: tuple[np.ndarray, list[str]],
) -> tuple[np.ndarray, list[tuple[str | None, ...]]]:
    """Rows' combination of divisions found: inverse index and the distinct combinations."""
    key = np.zeros(len(levels[0][0]), dtype=np.int64)
    for index, names in levels:
        key = key * (len(names) + 1) + (index + 1)
    combos, inverse = np.unique(key, return_inverse=True)
    first = np.zeros(len(combos), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(key))[::-1]  # a row holding each combination
    written = [
        tuple(names[index[row]] if index[row] >= 0 else None for index, names in levels)
        for row in first
    ]
    return inverse, written


def normalize_flat_forms(detail: pa.Array) -> pa.Array:
    """Building / unit / room in one written form (`_FLAT_FORMS`), rewriting only the texts
    that hold another form (most already read 5栋2单元301)."""
    other = pc.fill_null(pc.match_substring_regex(detail, _OTHER_FLAT_FORM), False)
    rows = np.flatnonzero(other.to_numpy(zero_copy_only=False))
    if not len(rows):
        return detail
    rewritten = detail.take(pa.array(rows))
    for pattern, replacement in _FLAT_FORMS:
        rewritten = pc.replace_substring_regex(rewritten, pattern, replacement)
    return pc.replace_with_mask(detail, other, rewritten)


@cache
def _abbreviations() -> dict[str, str]:
    """`PROVINCE_ABBREVIATIONS` of the provinces the reference table holds."""
    known = set(admin_divisions()["province"])
    return {a: p for a, p in PROVINCE_ABBREVIATIONS.items() if p in known}


@cache
def _districts_in_province() -> frozenset[str]:
    """`province|district` of every district in the reference table."""
    table = admin_divisions()
    return frozenset(table["province"] + "|" + table["district"])


def _expand_province_abbreviations(body: pa.Array, cities: _Names, districts: _Names) -> pa.Array:
    """`冀保定…` -> `河北省保定…` where a city or district of that province follows."""
    abbreviations = _abbreviations()
    first = pc.utf8_slice_codeunits(body, 0, 1)
    candidate = pc.fill_null(pc.is_in(first, value_set=pa.array(list(abbreviations))), False)
    rows = np.flatnonzero(candidate.to_numpy(zero_copy_only=False))
    if not len(rows):
        return body
    taken = body.take(pa.array(rows))
    rest = pc.utf8_slice_codeunits(taken, 1)
    city_index, city_used, city_list = _prefix_stage(rest, cities)
    district_index, _, district_list = _prefix_stage(_drop(rest, city_used), districts)
    province = pd.Series(first.take(pa.array(rows)).to_numpy(zero_copy_only=False)).map(
        abbreviations
    )
    city_province = pd.Series(city_list, dtype=object).map(_lookup()["city"]["province"])
    found_city = np.where(
        city_index >= 0, city_province.to_numpy()[np.maximum(city_index, 0)], None
    )
    in_province = _districts_in_province()
    district_name = np.array(district_list, dtype=object)[np.maximum(district_index, 0)]
    ok = np.where(
        city_index >= 0,
        found_city == province.to_numpy(),
        (district_index >= 0) & pd.Series(province + "|" + district_name).isin(in_province),
    ).astype(bool)
    if not ok.any():
        return body
    expanded = pc.binary_join_element_wise(pa.array(province), rest, "").filter(pa.array(ok))
    mask = np.zeros(len(body), dtype=bool)
    mask[rows[ok]] = True
    return pc.replace_with_mask(body, pa.array(mask), expanded)


def parse_addresses(values: pd.Series) -> pd.DataFrame:
    """Parse a column of address texts.

    Returns, on the input's index: `address` (normalized full form), `province`, `city`,
    `district`, `adcode`, and `address_issue` (`unresolved`: no division found; `inconsistent`:
    the divisions written contradict each other), all NULL for an empty input.
    """
    text = as_text(values)
    present = text.notna().to_numpy()
    columns = ADDRESS_COLUMNS
    if not present.any():
        return pd.DataFrame({c: text for c in columns}, index=values.index)
    normalized = nfkc(text).to_numpy(dtype=object)
    cleaned = pc.replace_substring_regex(pa.array(normalized, type=pa.string()), r"\s+", "")
    present &= pc.fill_null(pc.utf8_length(cleaned), 0).to_numpy(zero_copy_only=False) > 0
    body = cleaned
    if pc.any(pc.starts_with(cleaned, "中")).as_py():
        body = pc.replace_substring_regex(cleaned, _COUNTRY, "")

    province_names, city_names, district_names = _levels()
    body = _expand_province_abbreviations(body, city_names, district_names)
    body_text = body
    province, p_used, p_list = _prefix_stage(body, province_names)
    body = _drop(body, p_used)
    city, c_used, c_list = _prefix_stage(body, city_names)
    body = _drop(body, c_used)
    district, d_used, d_list = _prefix_stage(body, district_names)

    inverse, written = _combine((province, p_list), (city, c_list), (district, d_list))
    resolved = pd.DataFrame(
        [_resolve(*combo) for combo in written], columns=list(_RESOLVED_COLUMNS)
    )
    district_used = resolved["district_used"].to_numpy(dtype=bool)[inverse]
    consumed = p_used + c_used + np.where(district_used, d_used, 0)
    # The canonical prefix per row, as a dictionary array: one string per combination.
    prefix = pa.DictionaryArray.from_arrays(
        pa.array(inverse, type=pa.int32()),
        pa.array(resolved["prefix"].fillna("").astype(str).tolist(), type=pa.string()),
    ).cast(pa.string())
    address = pc.binary_join_element_wise(
        prefix, normalize_flat_forms(_drop(body_text, consumed)), ""
    )

    out = {"address": address.to_numpy(zero_copy_only=False)}
    out["address"][~present] = None
    # A last, empty combination for the rows without an address.
    row_combo = np.where(present, inverse, len(resolved))
    for column in ("province", "city", "district", "adcode", "address_issue"):
        per_combo = [*none_if_nan(resolved[column]).tolist(), None]
        out[column] = np.array(per_combo, dtype=object)[row_combo]
    return pd.DataFrame(out, index=values.index)[list(columns)]


# `parse_addresses`' arrow passes for one str, with Python's `re` in ASCII mode (RE2's \s and
# \d are ASCII only).
_WHITESPACE_RE = re.compile(r"[\t\n\f\r ]+")
_COUNTRY_RE = re.compile(_COUNTRY)
_OTHER_FLAT_FORM_RE = re.compile(_OTHER_FLAT_FORM, re.ASCII)
_FLAT_FORM_RES = tuple((re.compile(p, re.ASCII), r) for p, r in _FLAT_FORMS)


def _expand_province_abbreviation(body: str, cities: _Names, districts: _Names) -> str:
    """`_expand_province_abbreviations` for one text."""
    province = _abbreviations().get(body[:1])
    if province is None:
        return body
    rest = body[1:]
    (city,), (city_used,) = _match_prefix([rest], cities)
    (district,), _ = _match_prefix([rest[city_used:]], districts)
    if city is not None:
        ok = _lookup()["city"].at[city, "province"] == province
    else:
        ok = district is not None and f"{province}|{district}" in _districts_in_province()
    return province + rest if ok else body


def parse_address(raw: object) -> dict[str, str | None]:
    """`parse_addresses` for one value, without arrow or pandas: its row of
    `ADDRESS_COLUMNS`, by the same prefix matching and resolution."""
    text = text_of(raw)
    cleaned = "" if text is None else _WHITESPACE_RE.sub("", normalize("NFKC", text))
    if not cleaned:
        return dict.fromkeys(ADDRESS_COLUMNS)
    province_names, city_names, district_names = _levels()
    body = _expand_province_abbreviation(_COUNTRY_RE.sub("", cleaned), city_names, district_names)
    (province,), (p_used,) = _match_prefix([body], province_names)
    (city,), (c_used,) = _match_prefix([body[p_used:]], city_names)
    (district,), (d_used,) = _match_prefix([body[p_used + c_used :]], district_names)
    resolved = _resolve(province, city, district)
    consumed = p_used + c_used + (d_used if resolved["district_used"] else 0)
    detail = body[consumed:]
    if _OTHER_FLAT_FORM_RE.search(detail):
        for pattern, replacement in _FLAT_FORM_RES:
            detail = pattern.sub(replacement, detail)
    out: dict[str, str | None] = {"address": str(resolved["prefix"] or "") + detail}
    for column in ADDRESS_COLUMNS[1:]:
        value = resolved[column]
        out[column] = None if value is None or value != value else str(value)  # NaN: none
    return out
