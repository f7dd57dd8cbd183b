"""Which people each system holds, and the noisy values each source record carries.

A source record starts as a copy of its person and is then damaged field by field, each
kind of damage at its own NoiseConfig rate. The values stay system-neutral here (a date is a
date, a gender a flag); `systems.py` renders them in each system's own format.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import pandas as pd

from . import idcards, names, places
from ._arrays import (
    FULL_WIDTH_DIGITS,
    STR,
    cat,
    child_rng,
    full_width,
    intern,
    num,
    set_missing,
    ymd_parts,
    zpad,
)
from .config import SYSTEMS, NoiseConfig
from .population import Population

__all__ = ["SYSTEMS", "Holdings", "PartyFields", "assign_holdings", "junk_fields", "noisy_fields"]

BORN_2000 = np.datetime64("2000-01-01")
EMPLOYER_MISSING = 0.25  # credit officers often leave the employer blank
# Kinds of trouble beyond the original ones each draw from a stream of their own,
# `child_rng(seed, f"{kind}-{system}")`, and only when their rate is above zero: the
# original streams, hence the default profile's output, never change.
LUNAR_OFFSET_DAYS = (15, 50)  # the lunar birthday falls this many days before the solar one
EARLIEST_BIRTH = 19000101  # a mistyped birth date is still a date, and not before 1900
TYPO_ATTEMPTS = 30
PHONE_SEPARATORS = ("/", ",", "，", ";", " ", "、")

# The difference a duplicate record is forced to carry, so that no duplicate is an exact copy.
(
    DUP_STALE_PHONE,
    DUP_STALE_ADDRESS,
    DUP_PHONE_FORMAT,
    DUP_SHORT_ADDRESS,
    DUP_HOMOPHONE,
    DUP_NO_PHONE,
) = range(6)


@dataclass
class Holdings:
    """The records one system holds: person index per record; duplicates after originals."""

    person: np.ndarray  # int64
    duplicate: np.ndarray  # bool


@dataclass
class PartyFields:
    """System-neutral values of one system's customer records (one element per record)."""

    person: np.ndarray  # int64 person index, -1 for a junk row
    duplicate: np.ndarray  # bool
    stale: np.ndarray  # bool: this record kept an old phone or address
    name: np.ndarray  # object
    cert_type: np.ndarray  # object: '01' resident ID, '02' passport
    cert_no: np.ndarray  # object, None = missing
    phone: np.ndarray  # object, None = missing
    address: np.ndarray  # object, None = missing
    div: np.ndarray  # int: division of the address (even when the text is missing)
    birth: np.ndarray  # datetime64[D], NaT = missing
    gender: np.ndarray  # int8: 1 male, 0 female, -1 missing
    employer: np.ndarray  # object, None = missing

    def __len__(self) -> int:
        return len(self.person)

    def take(self, order: np.ndarray) -> PartyFields:
        return PartyFields(**{f.name: getattr(self, f.name)[order] for f in fields(self)})

    @staticmethod
    def concat(parts: list[PartyFields]) -> PartyFields:
        return PartyFields(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(PartyFields)
            }
        )


def assign_holdings(people: int, seed: int, noise: NoiseConfig) -> dict[str, Holdings]:
    rng = child_rng(seed, "holdings")
    shares = np.array([noise.core_share, noise.credit_share, noise.crm_share])
    held = rng.random((people, 3)) < shares
    orphan = np.flatnonzero(~held.any(axis=1))
    p = shares / shares.sum() if shares.sum() > 0 else np.array([1.0, 0.0, 0.0])
    held[orphan, rng.choice(3, size=len(orphan), p=p)] = True
    out = {}
    for j, system in enumerate(SYSTEMS):
        person = np.flatnonzero(held[:, j])
        again = person[rng.random(len(person)) < noise.for_system(system).duplicate_rate]
        out[system] = Holdings(
            person=np.concatenate([person, again]),
            duplicate=np.concatenate([np.zeros(len(person), bool), np.ones(len(again), bool)]),
        )
    return out


def noisy_fields(
    pop: Population,
    holdings: Holdings,
    system: str,
    noise: NoiseConfig,
    seed: int,
    as_of: date | None = None,
) -> PartyFields:
    """The system's records, each damaged at `noise`'s rates times the system's multiplier.

    `as_of` bounds a mistyped birth date (none is in the future); without it, the latest
    true birth date does.
    """
    noise = noise.for_system(system)
    rng = child_rng(seed, f"noise-{system}")
    p = holdings.person
    n = len(p)
    extra = _Streams(seed, system, n)

    def hit(rate: float) -> np.ndarray:
        return rng.random(n) < rate

    force = np.full(n, -1)
    force[holdings.duplicate] = rng.integers(6, size=int(holdings.duplicate.sum()))

    name = _names(rng, pop, p, system, noise, force == DUP_HOMOPHONE, extra)

    cert_type = np.full(n, "01", dtype=object)
    # A relative's ID goes through the same typos, 15-digit form and full-width digits.
    cert_no = _resident_ids(rng, pop, p, noise, _id_owners(pop, p, noise, extra))
    if system == "core":
        passport = hit(noise.passport_rate)
        cert_type[passport] = "02"
        cert_no[passport] = pop.passports(p[passport])
    cert_no = set_missing(cert_no, hit(noise.missing_rate))

    # Stale when written: the old phone and address, but not an old record (see `stale`).
    written_stale = extra.hits("stale-when-written", noise.stale_when_written_rate)
    stale_phone = hit(noise.stale_rate) | (force == DUP_STALE_PHONE)
    mobile = np.where(stale_phone | written_stale, pop.old_mobile[p], pop.mobile[p])
    _relatives_mobiles(pop, p, mobile, noise, extra)
    phone = num(mobile)
    fmt = np.flatnonzero(hit(noise.phone_format_rate) | (force == DUP_PHONE_FORMAT))
    phone[fmt] = _format_phones(rng, mobile[fmt])
    land = hit(noise.landline_rate)
    phone[land] = pop.landlines(p[land])
    _multi_phones(pop, p, mobile, phone, land, noise, extra)
    phone = full_width(phone, hit(noise.fullwidth_rate))
    phone = set_missing(phone, hit(noise.missing_rate) | (force == DUP_NO_PHONE))

    stale_address = hit(noise.stale_rate) | (force == DUP_STALE_ADDRESS)
    moved = stale_address | written_stale
    div = np.where(moved, pop.old_div[p], pop.res_div[p])
    detail = np.where(moved, pop.old_detail[p], pop.res_detail[p])
    short = hit(noise.abbreviated_address_rate) | (force == DUP_SHORT_ADDRESS)
    # Two abbreviations seen in practice: 河北石家庄长安区… and 石家庄市长安区….
    style = np.where(short, np.where(rng.random(n) < 0.7, places.SHORT, places.NO_PROVINCE), 0)
    abbreviated = extra.hits("province-abbreviation", noise.province_abbreviation_rate)
    style = np.where(abbreviated, places.PROVINCE_ABBREVIATED, style)
    detail = _building_forms(detail, noise, extra)
    address = places.render_address(div, detail, style)
    address = full_width(
        address, extra.hits("address-fullwidth", noise.address_fullwidth_rate), FULL_WIDTH_DIGITS
    )
    address = set_missing(address, hit(noise.missing_rate))

    birth = _birth_dates(pop, p, noise, extra, as_of)
    birth[hit(noise.missing_rate)] = np.datetime64("NaT")
    gender = pop.male[p].astype(np.int8)
    gender[hit(noise.missing_rate)] = -1
    employer = set_missing(
        np.array(places.EMPLOYERS, dtype=object)[pop.employer[p]], hit(EMPLOYER_MISSING)
    )
    _differ_from_original(
        pop, p, holdings.duplicate, phone, (name, cert_no, phone, address, birth, gender)
    )
    return PartyFields(
        person=p.astype(np.int64),
        duplicate=holdings.duplicate.copy(),
        stale=stale_phone | stale_address,
        name=name,
        cert_type=cert_type,
        cert_no=cert_no,
        phone=phone,
        address=address,
        div=div,
        birth=birth,
        gender=gender,
        employer=employer,
    )


class _Streams:
    """The random streams of the newer kinds of trouble, one per kind and system, created
    only when a kind is switched on."""

    def __init__(self, seed: int, system: str, n: int) -> None:
        self.seed, self.system, self.n = seed, system, n
        self._rngs: dict[str, np.random.Generator] = {}

    def rng(self, kind: str) -> np.random.Generator:
        if kind not in self._rngs:
            self._rngs[kind] = child_rng(self.seed, f"{kind}-{self.system}")
        return self._rngs[kind]

    def hits(self, kind: str, rate: float, eligible: np.ndarray | None = None) -> np.ndarray:
        """Records the damage falls on. With `eligible`, only those records can be hit and
        the rate is raised among them so that `rate` holds over all records (capped at 1)."""
        if rate <= 0 or self.n == 0:
            return np.zeros(self.n, dtype=bool)
        if eligible is not None:
            share = float(eligible.mean())
            if share == 0:
                return np.zeros(self.n, dtype=bool)
            rate = min(1.0, rate / share)
        hit = self.rng(kind).random(self.n) < rate
        return hit if eligible is None else hit & eligible


def _id_owners(
    pop: Population, p: np.ndarray, noise: NoiseConfig, extra: _Streams
) -> np.ndarray | None:
    """Whose resident ID each record carries, where some carry a relative's (else None)."""
    rows = np.flatnonzero(extra.hits("relative-id", noise.relative_id_rate, pop.household[p] >= 0))
    if not len(rows):
        return None
    owner = p.copy()
    relative = pop.relatives(extra.rng("relative-id"), p[rows])
    found = relative >= 0
    owner[rows[found]] = relative[found]
    return owner


def _relatives_mobiles(
    pop: Population, p: np.ndarray, mobile: np.ndarray, noise: NoiseConfig, extra: _Streams
) -> None:
    """Some records give another household member's mobile (in place)."""
    rows = np.flatnonzero(
        extra.hits("relative-phone", noise.relative_phone_rate, pop.household[p] >= 0)
    )
    if not len(rows):
        return
    relative = pop.relatives(extra.rng("relative-phone"), p[rows])
    found = relative >= 0
    mobile[rows[found]] = pop.mobile[relative[found]]


def _multi_phones(
    pop: Population,
    p: np.ndarray,
    mobile: np.ndarray,
    phone: np.ndarray,
    land: np.ndarray,
    noise: NoiseConfig,
    extra: _Streams,
) -> None:
    """Two numbers in one phone field (in place): the number written so far and the
    person's landline or their other mobile (the old one, or the current one where the
    record holds the old), in either order, with one of PHONE_SEPARATORS between."""
    rows = np.flatnonzero(extra.hits("multi-phone", noise.multi_phone_rate))
    if not len(rows):
        return
    rng = extra.rng("multi-phone")
    person = p[rows]
    other_mobile = np.where(
        mobile[rows] == pop.old_mobile[person], pop.mobile[person], pop.old_mobile[person]
    )
    # A record that already shows the landline adds a mobile, not the landline again.
    landline = (rng.random(len(rows)) < 0.5) & ~land[rows]
    second = num(other_mobile)
    second[landline] = pop.landlines(person[landline])
    separator = np.array(PHONE_SEPARATORS, dtype=object)[
        rng.integers(len(PHONE_SEPARATORS), size=len(rows))
    ]
    first = phone[rows]
    swap = rng.random(len(rows)) < 0.5
    phone[rows] = np.where(swap, cat(second, separator, first), cat(first, separator, second))


def _building_forms(detail: np.ndarray, noise: NoiseConfig, extra: _Streams) -> np.ndarray:
    """Flats written 5号楼2单元301, 5幢2单元301室, 5#2-301… instead of 5栋2单元301."""
    if noise.building_form_rate <= 0:
        return detail
    rows = np.flatnonzero(
        extra.hits("building-form", noise.building_form_rate, places.has_flat(detail))
    )
    return places.rewrite_flats(extra.rng("building-form"), detail, rows)


def _birth_dates(
    pop: Population, p: np.ndarray, noise: NoiseConfig, extra: _Streams, as_of: date | None
) -> np.ndarray:
    """Stated birth dates: the true one, a lunar birthday, a mistyped digit, day and month
    swapped. The ID (and so the standardizer's ID-derived date) keeps the true one."""
    birth = pop.birth[p].copy()
    lunar = np.flatnonzero(extra.hits("lunar-birthday", noise.lunar_birthday_rate))
    if len(lunar):
        lo, hi = LUNAR_OFFSET_DAYS
        days = extra.rng("lunar-birthday").integers(lo, hi + 1, size=len(lunar))
        birth[lunar] -= days.astype("timedelta64[D]")
    latest = np.datetime64(as_of, "D") if as_of is not None else pop.birth.max()
    typo = np.flatnonzero(extra.hits("birth-date-typo", noise.birth_date_typo_rate))
    if len(typo):
        birth[typo] = _mistyped_dates(extra.rng("birth-date-typo"), birth[typo], latest)
    if noise.birth_day_month_swap_rate > 0:
        y, m, d = ymd_parts(birth)
        swapped = _ymd_to_days(y, d, m)
        eligible = (d <= 12) & (d != m) & (swapped <= latest)
        rows = extra.hits("birth-day-month-swap", noise.birth_day_month_swap_rate, eligible)
        birth[rows] = swapped[rows]
    return birth


def _ymd_to_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """datetime64[D] from year, month (1-12) and day arrays (day within the month)."""
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return months.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")


def _mistyped_dates(
    rng: np.random.Generator, birth: np.ndarray, latest: np.datetime64
) -> np.ndarray:
    """One digit of each YYYYMMDD changed so that it is still a real date, from 1900 to
    `latest`; tried again with another digit where it is not (a date no digit change keeps
    valid stays as it was)."""
    y, m, d = ymd_parts(birth)
    ymd = y * 10_000 + m * 100 + d
    ly, lm, ld = ymd_parts(np.array([latest]))
    latest_ymd = int(ly[0] * 10_000 + lm[0] * 100 + ld[0])
    out = ymd.copy()
    todo = np.arange(len(ymd))
    for _ in range(TYPO_ATTEMPTS):
        if not len(todo):
            break
        place = 10 ** (7 - rng.integers(8, size=len(todo)))
        old = ymd[todo] // place % 10
        candidate = ymd[todo] + ((old + rng.integers(1, 10, size=len(todo))) % 10 - old) * place
        ok = _real_dates(candidate) & (candidate >= EARLIEST_BIRTH) & (candidate <= latest_ymd)
        out[todo[ok]] = candidate[ok]
        todo = todo[~ok]
    return _ymd_to_days(out // 10_000, out // 100 % 100, out % 100)


def _real_dates(ymd: np.ndarray) -> np.ndarray:
    year, month, day = ymd // 10_000, ymd // 100 % 100, ymd % 100
    good_month = (month >= 1) & (month <= 12)
    first = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    length = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)
    return good_month & (day >= 1) & (day <= length)


def _differ_from_original(
    pop: Population,
    p: np.ndarray,
    duplicate: np.ndarray,
    phone: np.ndarray,
    compared: tuple[np.ndarray, ...],
) -> None:
    """A duplicate whose forced difference happened to vanish (a homophone for a name without
    one, a reformatted phone that is missing anyway) gets another phone: the number the
    person used before, or the current one if the original holds the old one."""
    original_row = np.full(len(pop), -1, dtype=np.int64)
    originals = np.flatnonzero(~duplicate)
    original_row[p[originals]] = originals
    dup = np.flatnonzero(duplicate)
    orig = original_row[p[dup]]
    same = np.ones(len(dup), dtype=bool)
    for column in compared:
        a, b = column[dup], column[orig]
        if column.dtype.kind == "M":
            same &= (a == b) | (np.isnat(a) & np.isnat(b))
        else:
            same &= pd.Series(a).fillna("\0").to_numpy() == pd.Series(b).fillna("\0").to_numpy()
    rows, orig = dup[same], orig[same]
    old = num(pop.old_mobile[p[rows]])
    phone[rows] = np.where(phone[orig] == old, num(pop.mobile[p[rows]]), old)


def _names(
    rng: np.random.Generator,
    pop: Population,
    p: np.ndarray,
    system: str,
    noise: NoiseConfig,
    force_homophone: np.ndarray,
    extra: _Streams,
) -> np.ndarray:
    n = len(p)
    surname, given, male = pop.surname[p], pop.given[p], pop.male[p]

    variants = names.homophone_variants(rng, given)
    eligible = np.array([v is not None for v in variants], dtype=bool) if n else np.zeros(0, bool)
    # Not every name has a character with a homophone: raise the rate among those that do,
    # so the configured rate holds over all records.
    share = eligible.mean() if n else 0.0
    rate = min(1.0, noise.homophone_rate / share) if share > 0 else 0.0
    homophone = eligible & ((rng.random(n) < rate) | force_homophone)
    given = np.where(homophone, variants, given)
    given = _similar_chars(given, noise, extra)

    traditional = np.flatnonzero(rng.random(n) < noise.traditional_rate)
    sur_out, giv_out = surname.copy(), given.copy()
    sur_out[traditional] = names.to_traditional(surname[traditional])
    giv_out[traditional] = names.to_traditional(given[traditional])

    space = rng.random(n) < noise.name_space_rate
    sep = np.where(space, np.where(rng.random(n) < 0.2, "\u3000", " "), "")
    dot = np.flatnonzero(extra.hits("name-dot", noise.name_dot_rate))
    if len(dot):
        # Only a Han name has a surname and given name to put a dot between.
        dots = names.NAME_DOTS[:2] if system == "crm" else names.NAME_DOTS
        p_dot = np.array(names.NAME_DOT_P[: len(dots)])
        sep = sep.astype(object)
        sep[dot] = np.array(dots, dtype=object)[
            extra.rng("name-dot").choice(len(dots), size=len(dot), p=p_dot / p_dot.sum())
        ]
    titled = rng.random(n) < noise.title_suffix_rate
    suffix = np.where(titled, np.where(male, names.TITLES[0], names.TITLES[1]), "")
    name = intern(cat(sur_out, sep, giv_out, suffix))

    if system == "credit":
        rows = np.flatnonzero(rng.random(n) < noise.pinyin_name_rate)
        name[rows] = _pinyin_names(rng, surname[rows], given[rows])
    missing = extra.hits("name-missing", noise.name_missing_rate)
    if missing.any():
        name = set_missing(name, missing)
    return name


def _similar_chars(given: np.ndarray, noise: NoiseConfig, extra: _Streams) -> np.ndarray:
    """One given-name character replaced by a look-alike (形近字), where a name has one."""
    if noise.similar_char_rate <= 0 or not len(given):
        return given
    variants = names.similar_char_variants(extra.rng("similar-char"), given)
    eligible = pd.notna(variants)
    hit = extra.hits("similar-char", noise.similar_char_rate, eligible)
    return np.where(hit, variants, given)


def _pinyin_names(rng: np.random.Generator, surname: np.ndarray, given: np.ndarray) -> np.ndarray:
    """ZHANG WEI, Zhang Wei or Wei Zhang (given name first, the way foreign forms ask)."""
    if not len(surname):
        return np.empty(0, dtype=object)
    sp = names.surname_pinyin(surname).astype(STR)
    gp = names.given_pinyin(given).astype(STR)
    upper = (np.strings.upper(sp) + " " + np.strings.upper(gp)).astype(object)
    title = (np.strings.capitalize(sp) + " " + np.strings.capitalize(gp)).astype(object)
    given_first = (np.strings.capitalize(gp) + " " + np.strings.capitalize(sp)).astype(object)
    style = rng.choice(3, size=len(surname), p=[0.5, 0.3, 0.2])
    return np.where(style == 0, upper, np.where(style == 1, title, given_first))


def _resident_ids(
    rng: np.random.Generator,
    pop: Population,
    p: np.ndarray,
    noise: NoiseConfig,
    owner: np.ndarray | None = None,
) -> np.ndarray:
    """The resident IDs the records carry, damaged. `owner` is whose ID each record carries
    (the person's own, or a relative's): a relative's ID gets exactly the typo, swap, x,
    15-digit and full-width damage the person's own would have got, and this stream's draws
    do not depend on whose ID it is."""
    n = len(p)
    matrix = idcards.matrix_from_strings(pop.id18[p])
    typo = np.flatnonzero(rng.random(n) < noise.id_typo_rate)
    typo_col, typo_step = idcards.change_one_digit(rng, matrix, typo)
    swap = np.flatnonzero(rng.random(n) < noise.id_transposition_rate)
    swap_col = idcards.swap_adjacent(rng, matrix, swap)
    if owner is None:
        owner = p
    else:
        _replay_on_relatives(pop, p, owner, matrix, (typo, typo_col, typo_step), (swap, swap_col))
    lower = (matrix[:, 17] == ord("X")) & (rng.random(n) < noise.lowercase_x_rate)
    matrix[lower, 17] = ord("x")
    out = idcards.to_strings(matrix)
    # First-generation IDs were replaced from 1999 on; only people born before then had one.
    old = (pop.birth[owner] < BORN_2000) & (rng.random(n) < noise.old_id15_rate)
    out[old] = idcards.to_fifteen(matrix[old])
    return full_width(out, rng.random(n) < noise.fullwidth_rate)


def _replay_on_relatives(
    pop: Population,
    p: np.ndarray,
    owner: np.ndarray,
    matrix: np.ndarray,
    typos: tuple[np.ndarray, np.ndarray, np.ndarray],
    swaps: tuple[np.ndarray, np.ndarray],
) -> None:
    """Rows carrying a relative's ID: that ID, with the same typo and swap (in place)."""
    rows = np.flatnonzero(owner != p)
    if not len(rows):
        return
    theirs = idcards.matrix_from_strings(pop.id18[owner[rows]])
    slot = np.full(len(p), -1, dtype=np.int64)
    slot[rows] = np.arange(len(rows))
    typo, typo_col, typo_step = typos
    mine = slot[typo] >= 0
    idcards.apply_digit_change(theirs, slot[typo[mine]], typo_col[mine], typo_step[mine])
    swap, swap_col = swaps
    mine = slot[swap] >= 0
    idcards.apply_swap(theirs, slot[swap[mine]], swap_col[mine])
    matrix[rows] = theirs


def _format_phones(rng: np.random.Generator, mobile: np.ndarray) -> np.ndarray:
    """The ways a mobile gets typed: +86 138-1234-5678, 0086 13812345678, 138 1234 5678…"""
    if not len(mobile):
        return np.empty(0, dtype=object)
    plain = num(mobile)
    a, b, c = num(mobile // 10**8), zpad(mobile // 10**4 % 10**4, 4), zpad(mobile % 10**4, 4)
    variants = [
        cat("+86 ", a, "-", b, "-", c),
        cat("+86 ", plain),
        cat("+86", plain),
        cat("0086", plain),
        cat("0086 ", plain),
        cat("86", plain),
        cat("86-", plain),
        cat(a, "-", b, "-", c),
        cat(a, " ", b, " ", c),
    ]
    pick = rng.integers(len(variants), size=len(mobile))
    return np.choose(pick, variants)


JUNK_IDS = ("111111111111111111", "123456789012345678", "000000000000000000", "1234")
JUNK_PHONES = ("13800000000", "12345678901", "11111111111", "0")
JUNK_ADDRESSES = ("测试地址", "无", "1")


def junk_fields(system: str, records: int, noise: NoiseConfig, seed: int) -> PartyFields:
    """Rows a cleansing stage must quarantine: test customers and empty shells."""
    rng = child_rng(seed, f"junk-{system}")
    noise = noise.for_system(system)
    n = 0 if noise.junk_rate <= 0 or records == 0 else max(1, round(noise.junk_rate * records))
    empty_shell = rng.random(n) < 0.5

    def pick(options: tuple[str, ...], missing_share: float) -> np.ndarray:
        values = np.array(options, dtype=object)[rng.integers(len(options), size=n)]
        return set_missing(values, rng.random(n) < missing_share)

    name = np.where(empty_shell, "", pick(names.JUNK_NAMES, 0.0))
    cert_no = np.where(empty_shell, "", pick(JUNK_IDS, 0.3))
    return PartyFields(
        person=np.full(n, -1, dtype=np.int64),
        duplicate=np.zeros(n, bool),
        stale=np.zeros(n, bool),
        name=name.astype(object),
        cert_type=np.full(n, "01", dtype=object),
        cert_no=cert_no.astype(object),
        phone=pick(JUNK_PHONES, 0.4),
        address=pick(JUNK_ADDRESSES, 0.5),
        div=np.zeros(n, dtype=np.int64),
        birth=np.where(
            rng.random(n) < 0.5, np.datetime64("1900-01-01"), np.datetime64("NaT")
        ).astype("datetime64[D]"),
        gender=rng.integers(-1, 2, size=n).astype(np.int8),
        employer=np.full(n, None, dtype=object),
    )
