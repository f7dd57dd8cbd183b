"""The people behind the records: one clean row per real person, the ground truth.

Everything here is about people, not systems: households and twins are shaped first (they
change surnames, birth dates and addresses), then names, resident IDs and phones are drawn so
that every person's ID agrees with their birth date, birthplace and gender.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import idcards, names, places
from ._arrays import cat, child_rng, num, ymd_parts, zpad
from .config import NoiseConfig

MIN_BIRTH = np.datetime64("1940-01-01")
MAX_BIRTH = np.datetime64("2006-12-31")
# Relative weight of each birth decade: a bank's customers are mostly of working age.
DECADE_WEIGHTS = {1940: 0.45, 1950: 0.8, 1960: 1.2, 1970: 1.1, 1980: 1.2, 1990: 1.05, 2000: 0.8}
HOUSEHOLD_SIZES = (2, 3, 4)
HOUSEHOLD_SIZE_P = (0.55, 0.30, 0.15)
YEAR = 365
# Mobile prefixes in use; 13x numbers are the oldest and most common.
MOBILE_PREFIXES = np.array(
    [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190),
     191, 193, 195, 196, 197, 198, 199]
)  # fmt: skip
MOBILE_PREFIX_W = np.where(MOBILE_PREFIXES < 150, 2.0, np.where(MOBILE_PREFIXES < 190, 1.2, 0.6))


@dataclass
class Population:
    """Column arrays, one element per person; index i is the person `P{i+1:09d}`."""

    surname: np.ndarray  # object
    given: np.ndarray  # object
    male: np.ndarray  # bool
    birth: np.ndarray  # datetime64[D]
    birth_div: np.ndarray  # division index of the ID's area code
    id18: np.ndarray  # object, valid 18-character resident ID
    res_div: np.ndarray  # division index of the current address
    res_detail: np.ndarray  # object, street part of the current address
    old_div: np.ndarray  # previous address (stale values)
    old_detail: np.ndarray
    mobile: np.ndarray  # int64
    old_mobile: np.ndarray  # int64, a number the person no longer uses
    landline_no: np.ndarray  # int64: 8-digit home number, shared by a household
    household: np.ndarray  # int64, -1 when living alone (twins form a household too)
    twin_of: np.ndarray  # int64 person index, -1 when none
    employer: np.ndarray  # int index into places.EMPLOYERS
    passport_no: np.ndarray  # int64: 8 digits, unique

    # Strings needed only for some records are rendered on demand, not held per person.
    def __len__(self) -> int:
        return len(self.male)

    def person_ids(self, index: np.ndarray) -> np.ndarray:
        """P + 9 digits: the ground truth's person_id."""
        return cat("P", zpad(np.asarray(index) + 1, 9))

    def landlines(self, index: np.ndarray) -> np.ndarray:
        """0311-85551234: the area code of where the person lives, then the home number."""
        return cat(
            places.divisions().area_code[self.res_div[index]], "-", num(self.landline_no[index])
        )

    def passports(self, index: np.ndarray) -> np.ndarray:
        return cat("E", zpad(self.passport_no[index], 8))

    def relatives(self, rng: np.random.Generator, index: np.ndarray) -> np.ndarray:
        """For each person, another member of their household picked at random (spouse,
        parent, child or twin); -1 for a person living alone."""
        index = np.asarray(index, dtype=np.int64)
        out = np.full(len(index), -1, dtype=np.int64)
        members = np.flatnonzero(self.household >= 0)
        if not len(members) or not len(index):
            return out
        # Members grouped by household: a household is the slice [left, left + size).
        order = members[np.argsort(self.household[members], kind="stable")]
        grouped = self.household[order]
        rows = np.flatnonzero(self.household[index] >= 0)
        household = self.household[index[rows]]
        left = np.searchsorted(grouped, household, side="left")
        size = np.searchsorted(grouped, household, side="right") - left
        keep = size >= 2
        rows, left, size = rows[keep], left[keep], size[keep]
        position = np.empty(len(self), dtype=np.int64)
        position[order] = np.arange(len(order))
        own = position[index[rows]] - left
        # One of the other size - 1 members: draw among them, then step over oneself.
        other = np.floor(rng.random(len(rows)) * (size - 1)).astype(np.int64)
        other += other >= own
        out[rows] = order[left + other]
        return out

    def attributes(self) -> pd.DataFrame:
        """The true attributes of every person, as `people.parquet` holds them.

        `name_pinyin` is written the way the standardizer writes it (surname reading, then
        one toneless syllable per character, space-separated); `household_id` is shared by
        the members of a household (twins form one too), `twin_person_id` points at the twin.
        """
        everyone = np.arange(len(self))
        surname_py = names.surname_pinyin(self.surname)
        given_py = names.given_syllables(self.given)
        household = np.full(len(self), None, dtype=object)
        in_household = self.household >= 0
        household[in_household] = cat("H", zpad(self.household[in_household] + 1, 8))
        twin = np.full(len(self), None, dtype=object)
        has_twin = self.twin_of >= 0
        twin[has_twin] = self.person_ids(self.twin_of[has_twin])
        return pd.DataFrame(
            {
                "person_id": self.person_ids(everyone),
                "name": cat(self.surname, self.given),
                "name_pinyin": cat(surname_py, " ", given_py),
                "id_number": self.id18,
                "birth_date": self.birth,
                "gender": np.where(self.male, "M", "F").astype(object),
                "mobile": num(self.mobile),
                "address": places.render_address(
                    self.res_div, self.res_detail, np.zeros(len(self), dtype=np.int64)
                ),
                "household_id": household,
                "twin_person_id": twin,
            }
        )


def generate_population(people: int, seed: int, noise: NoiseConfig) -> Population:
    if people < 1:
        raise ValueError("people must be at least 1")
    n = people
    rng = child_rng(seed, "population")
    div = places.divisions()

    male = rng.random(n) < 0.5
    birth = _birth_dates(rng, n)
    surname = names.SURNAME_CHARS[
        rng.choice(len(names.SURNAME_CHARS), size=n, p=names.SURNAME_WEIGHTS)
    ]
    res_div = places.draw_divisions(rng, n, div.residence_p)
    res_detail = places.street_details(rng, n)
    household = np.full(n, -1, dtype=np.int64)
    twin_of = np.full(n, -1, dtype=np.int64)

    heads, members = _households(child_rng(seed, "households"), n, noise.household_rate)
    _shape_households(child_rng(seed, "household-members"), heads, members, male, birth, surname)
    household[members[:, 0]] = members[:, 1]
    res_div[members[:, 0]] = res_div[heads[members[:, 1]]]
    res_detail[members[:, 0]] = res_detail[heads[members[:, 1]]]

    pair_a, pair_b = _twin_pairs(child_rng(seed, "twins"), n, noise.twin_rate, household)
    if len(pair_a):
        birth[pair_b] = birth[pair_a]
        surname[pair_b] = surname[pair_a]
        res_div[pair_b] = res_div[pair_a]
        res_detail[pair_b] = res_detail[pair_a]
        first = household.max() + 1 if n else 0
        household[pair_a] = household[pair_b] = first + np.arange(len(pair_a))
        twin_of[pair_a], twin_of[pair_b] = pair_b, pair_a

    # Most people are born where they live; the ID keeps the birthplace's code for life.
    birth_div = np.where(
        rng.random(n) < places.BORN_WHERE_THEY_LIVE,
        res_div,
        places.draw_divisions(rng, n, div.birthplace_p),
    )
    birth_div[pair_b] = birth_div[pair_a]

    given = names.draw_given_names(child_rng(seed, "given-names"), male)
    _distinct_twin_names(child_rng(seed, "twin-names"), given, male, pair_a, pair_b)

    id18 = _resident_ids(child_rng(seed, "resident-ids"), div.adcode[birth_div], birth, male)

    mobiles = _unique_mobiles(child_rng(seed, "mobiles"), 2 * n)
    mobile, old_mobile = mobiles[:n].copy(), mobiles[n:]
    phone_rng = child_rng(seed, "shared-phones")
    share = phone_rng.random(len(members)) < noise.household_shared_phone_rate
    not_head = members[:, 0] != heads[members[:, 1]]
    sharers = members[share & not_head, 0]
    mobile[sharers] = mobile[heads[household[sharers]]]
    twin_share = phone_rng.random(len(pair_a)) < noise.twin_shared_phone_rate
    mobile[pair_b[twin_share]] = mobile[pair_a[twin_share]]

    landline_rng = child_rng(seed, "landlines")
    landline_no = landline_rng.integers(20_000_000, 90_000_000, n)
    in_household = household >= 0
    # One home phone per household: every member gets the first member's number.
    first_member = (
        pd.Series(np.arange(n)[in_household]).groupby(household[in_household]).transform("min")
    )
    landline_no[in_household] = landline_no[first_member.to_numpy()]

    moves = child_rng(seed, "old-addresses")
    # Half of the moves stay within the district (a new flat), the rest anywhere.
    old_div = np.where(
        moves.random(n) < 0.5, res_div, places.draw_divisions(moves, n, div.residence_p)
    )
    old_detail = places.street_details(moves, n)

    other = child_rng(seed, "employers-passports")
    employer = other.integers(len(places.EMPLOYERS), size=n)
    # A bijection of the person index, so passport numbers never collide.
    passport_no = (np.arange(n, dtype=np.int64) * 48_271 + other.integers(10**7)) % 10**8

    return Population(
        surname=surname,
        given=given,
        male=male,
        birth=birth,
        birth_div=birth_div,
        id18=id18,
        res_div=res_div,
        res_detail=res_detail,
        old_div=old_div,
        old_detail=old_detail,
        mobile=mobile,
        old_mobile=old_mobile,
        landline_no=landline_no,
        household=household,
        twin_of=twin_of,
        employer=employer,
        passport_no=passport_no,
    )


def _birth_dates(rng: np.random.Generator, n: int) -> np.ndarray:
    years = np.arange(1940, 2007)
    w = np.array([DECADE_WEIGHTS[y // 10 * 10] for y in range(1940, 2007)], dtype=float)
    year = rng.choice(years, size=n, p=w / w.sum())
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    length = np.where((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)), 366, 365)
    return start + np.floor(rng.random(n) * length).astype("timedelta64[D]")


def _households(rng: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Household heads (person per household) and members (rows of person, household, role)."""
    target = min(round(n * rate), n)
    if target < 2:
        return np.empty(0, dtype=np.int64), np.empty((0, 3), dtype=np.int64)
    sizes = rng.choice(HOUSEHOLD_SIZES, size=target, p=HOUSEHOLD_SIZE_P)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, target)) + 1
    sizes = sizes[:count]
    overflow = int(ends[count - 1]) - n
    if overflow > 0:  # tiny populations: shrink the last household to what is left
        sizes[-1] -= overflow
        if sizes[-1] < 2:
            sizes = sizes[:-1]
    total = int(sizes.sum())
    person = rng.permutation(n)[:total]
    hh = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    role = np.arange(total) - np.repeat(starts, sizes)
    return person[starts], np.column_stack([person, hh, role])


def _shape_households(
    rng: np.random.Generator,
    heads: np.ndarray,
    members: np.ndarray,
    male: np.ndarray,
    birth: np.ndarray,
    surname: np.ndarray,
) -> None:
    """Role 1 is the head's spouse; roles 2-3 are children, or the head's parents when the
    head is too young to have adult children."""
    if not len(members):
        return
    person, hh, role = members[:, 0], members[:, 1], members[:, 2]
    head = heads[hh]
    spouse_of_hh = np.full(len(heads), -1, dtype=np.int64)
    spouse_of_hh[hh[role == 1]] = person[role == 1]

    sp = role == 1
    male[person[sp]] = ~male[head[sp]]
    shift = np.round(rng.normal(0, 3 * YEAR, int(sp.sum()))).astype("timedelta64[D]")
    birth[person[sp]] = np.clip(birth[head[sp]] + shift, MIN_BIRTH, MAX_BIRTH)

    kid = role >= 2
    k_person, k_head = person[kid], head[kid]
    gap = rng.integers(22 * YEAR, 36 * YEAR, int(kid.sum())).astype("timedelta64[D]")
    as_child = birth[k_head] + gap
    is_child = as_child <= MAX_BIRTH
    father = np.where(male[k_head], k_head, spouse_of_hh[hh[kid]])
    birth[k_person] = np.where(is_child, as_child, np.maximum(birth[k_head] - gap, MIN_BIRTH))
    # Children take the father's surname; a parent of the head shares it when it is the father.
    takes_name = np.where(is_child, True, male[k_person])
    src = np.where(is_child, father, k_head)
    ok = takes_name & (src >= 0)
    surname[k_person[ok]] = surname[src[ok]]


def _twin_pairs(
    rng: np.random.Generator, n: int, rate: float, household: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pairs = math.ceil(n * rate / 2) if rate > 0 else 0
    free = np.flatnonzero(household < 0)
    pairs = min(pairs, len(free) // 2)
    chosen = rng.choice(free, size=2 * pairs, replace=False)
    return chosen[:pairs], chosen[pairs:]


def _distinct_twin_names(
    rng: np.random.Generator, given: np.ndarray, male: np.ndarray, a: np.ndarray, b: np.ndarray
) -> None:
    if not len(a):
        return
    # Parents often give twins names sharing the first character (子豪 / 子杰).
    both_two = (pd.Series(given[a]).str.len().to_numpy() == 2) & (
        pd.Series(given[b]).str.len().to_numpy() == 2
    )
    share = both_two & (rng.random(len(a)) < 0.5)
    if share.any():
        first = pd.Series(given[a[share]]).str[0].to_numpy(dtype=object)
        second = pd.Series(given[b[share]]).str[1].to_numpy(dtype=object)
        given[b[share]] = first + second
    for _ in range(20):
        same = given[a] == given[b]
        if not same.any():
            return
        given[b[same]] = names.draw_given_names(rng, male[b[same]])
    raise RuntimeError("could not give twins distinct names")


def _resident_ids(
    rng: np.random.Generator, adcode: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Valid 18-digit IDs; the sequence's last digit is odd for men, even for women."""
    n = len(adcode)
    y, m, d = ymd_parts(birth)
    ymd = y * 10_000 + m * 100 + d

    def draw(size: int, is_male: np.ndarray) -> np.ndarray:
        k = rng.integers(1, 500, size)
        return 2 * k + is_male.astype(np.int64)

    seq = draw(n, male)
    key = adcode.astype(np.int64) * 10**11 + ymd * 1_000
    for _ in range(50):
        dup = pd.Series(key + seq).duplicated().to_numpy()
        if not dup.any():
            break
        seq[dup] = draw(int(dup.sum()), male[dup])
    else:
        raise RuntimeError("could not draw unique resident IDs")
    return idcards.to_strings(idcards.build_matrix(adcode, ymd, seq))


def _unique_mobiles(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct 11-digit mobiles, in random order."""
    p = MOBILE_PREFIX_W / MOBILE_PREFIX_W.sum()
    pool = np.empty(0, dtype=np.int64)
    while len(pool) < count:
        extra = count - len(pool) + count // 50 + 16
        draw = rng.choice(MOBILE_PREFIXES, size=extra, p=p).astype(np.int64) * 10**8 + rng.integers(
            0, 10**8, extra
        )
        both = np.concatenate([pool, draw])
        _, first = np.unique(both, return_index=True)
        pool = both[np.sort(first)]
    return pool[:count]
