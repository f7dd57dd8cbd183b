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

Only the first 40 characters can hold divisions, so parsing runs on distinct 40-character
heads (many addresses share them) and the rest of each address is appended afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from matching.standardize._text import arrow, as_text, nfkc, none_if_nan, on_uniques

_HEAD = 40
_COUNTRY = r"^(?:中华人民共和国|中国)"
_DIVISION_SUFFIX = frozenset("省市区县旗盟州")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_CITY_SUFFIX = re.compile(r"(?:地区|市|盟)$")

_REFERENCE = resources.files("matching.standardize") / "reference"


@dataclass(frozen=True)
class _Names:
    """Written form -> canonical name, for one level; `short` forms need a non-suffix after."""

    full: dict[str, str]
    short: dict[str, str]

    def lengths(self) -> list[int]:
        return sorted({len(k) for k in (*self.full, *self.short)}, reverse=True)


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


def _match_prefix(text: pd.Series, names: _Names) -> tuple[pd.Series, pd.Series]:
    """Longest known name at the start of each text: (canonical or None, characters used)."""
    found = pd.Series(None, index=text.index, dtype=object)
    used = pd.Series(0, index=text.index, dtype=int)
    for length in names.lengths():
        head = text.str[:length]
        following = text.str[length : length + 1]
        full = head.map(names.full)
        short = head.map(names.short).where(~following.isin(_DIVISION_SUFFIX))
        candidate = full.where(full.notna(), short)
        take = found.isna() & candidate.notna()
        found[take] = candidate[take]
        used[take] = length
    return found, used


def _drop(text: pd.Series, used: pd.Series) -> pd.Series:
    return pd.Series([t[n:] for t, n in zip(text, used, strict=True)], index=text.index)


@cache
def _lookup() -> dict[str, pd.DataFrame]:
    table = admin_divisions()
    return {
        "city": table.drop_duplicates("city").set_index("city"),
        "province_code": table.assign(code=table["adcode"].str[:2] + "0000")
        .drop_duplicates("province")
        .set_index("province"),
    }


_RESOLVED_COLUMNS = (
    "province",
    "city",
    "district",
    "adcode",
    "prefix",
    "district_used",
    "address_issue",
)


def _resolve(province: str | None, city: str | None, district: str | None) -> dict[str, object]:
    """One combination of written divisions -> canonical parts, adcode, issue."""
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


def _parse_heads(heads: pd.Series) -> pd.DataFrame:
    text = heads.str.replace(_COUNTRY, "", regex=True)
    country = heads.str.len() - text.str.len()
    province_names, city_names, district_names = _levels()
    province, p_used = _match_prefix(text, province_names)
    text = _drop(text, p_used)
    city, c_used = _match_prefix(text, city_names)
    text = _drop(text, c_used)
    district, d_used = _match_prefix(text, district_names)

    written = pd.DataFrame({"province": province, "city": city, "district": district})
    combos = written.drop_duplicates()
    resolved = pd.DataFrame(
        [_resolve(*(None if pd.isna(v) else v for v in row)) for row in combos.itertuples(False)],
        index=combos.index,
        columns=list(_RESOLVED_COLUMNS),
    )
    resolved = pd.concat([combos.add_suffix("_written"), resolved], axis=1)
    merged = written.add_suffix("_written").merge(
        resolved, how="left", on=[f"{c}_written" for c in written.columns]
    )
    merged.index = heads.index
    # Characters of the head that the canonical prefix replaces.
    consumed = country + p_used + c_used + d_used.where(merged["district_used"].astype(bool), 0)
    rest = _drop(heads, consumed)
    prefix = merged["prefix"].fillna("")
    return pd.DataFrame(
        {
            "province": merged["province"],
            "city": merged["city"],
            "district": merged["district"],
            "adcode": merged["adcode"],
            "head_address": prefix + rest,
            "address_issue": merged["address_issue"],
        },
        index=heads.index,
    )


def parse_addresses(values: pd.Series) -> pd.DataFrame:
    """Parse a column of address texts.

    Returns, on the input's index: `address` (normalized full form), `province`, `city`,
    `district`, `adcode`, and `address_issue` (`unresolved`: no division found; `inconsistent`:
    the divisions written contradict each other), all NULL for an empty input.
    """
    text = as_text(values)
    cleaned = arrow(nfkc(text)).str.replace(r"\s+", "", regex=True)
    cleaned = cleaned.where(cleaned.str.len() > 0)
    parsed = on_uniques(cleaned.str[:_HEAD].astype(object), _parse_heads)
    address = parsed["head_address"] + none_if_nan(cleaned.str[_HEAD:].astype(object))
    return pd.DataFrame(
        {
            "address": none_if_nan(address),
            "province": parsed["province"],
            "city": parsed["city"],
            "district": parsed["district"],
            "adcode": parsed["adcode"],
            "address_issue": parsed["address_issue"],
        },
        index=values.index,
    )
