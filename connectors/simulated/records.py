"""Which people each system holds, and the noisy values each source record carries.

A source record starts as a copy of its person and is then damaged field by field, each
kind of damage at its own NoiseConfig rate. The values stay system-neutral here (a date is a
date, a gender a flag); `systems.py` renders them in each system's own format.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from . import idcards, names, places
from ._arrays import STR, cat, child_rng, full_width, intern, num, set_missing, zpad
from .config import NoiseConfig
from .population import Population

SYSTEMS = ("core", "credit", "crm")
BORN_2000 = np.datetime64("2000-01-01")
EMPLOYER_MISSING = 0.25  # credit officers often leave the employer blank

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
        again = person[rng.random(len(person)) < noise.duplicate_rate]
        out[system] = Holdings(
            person=np.concatenate([person, again]),
            duplicate=np.concatenate([np.zeros(len(person), bool), np.ones(len(again), bool)]),
        )
    return out


def noisy_fields(
    pop: Population, holdings: Holdings, system: str, noise: NoiseConfig, seed: int
) -> PartyFields:
    rng = child_rng(seed, f"noise-{system}")
    p = holdings.person
    n = len(p)

    def hit(rate: float) -> np.ndarray:
        return rng.random(n) < rate

    force = np.full(n, -1)
    force[holdings.duplicate] = rng.integers(6, size=int(holdings.duplicate.sum()))

    name = _names(rng, pop, p, system, noise, force == DUP_HOMOPHONE)

    cert_type = np.full(n, "01", dtype=object)
    cert_no = _resident_ids(rng, pop, p, noise)
    if system == "core":
        passport = hit(noise.passport_rate)
        cert_type[passport] = "02"
        cert_no[passport] = pop.passports(p[passport])
    cert_no = set_missing(cert_no, hit(noise.missing_rate))

    stale_phone = hit(noise.stale_rate) | (force == DUP_STALE_PHONE)
    mobile = np.where(stale_phone, pop.old_mobile[p], pop.mobile[p])
    phone = num(mobile)
    fmt = np.flatnonzero(hit(noise.phone_format_rate) | (force == DUP_PHONE_FORMAT))
    phone[fmt] = _format_phones(rng, mobile[fmt])
    land = hit(noise.landline_rate)
    phone[land] = pop.landlines(p[land])
    phone = full_width(phone, hit(noise.fullwidth_rate))
    phone = set_missing(phone, hit(noise.missing_rate) | (force == DUP_NO_PHONE))

    stale_address = hit(noise.stale_rate) | (force == DUP_STALE_ADDRESS)
    div = np.where(stale_address, pop.old_div[p], pop.res_div[p])
    detail = np.where(stale_address, pop.old_detail[p], pop.res_detail[p])
    short = hit(noise.abbreviated_address_rate) | (force == DUP_SHORT_ADDRESS)
    # Two abbreviations seen in practice: 河北石家庄长安区… and 石家庄市长安区….
    style = np.where(short, np.where(rng.random(n) < 0.7, 1, 2), 0)
    address = set_missing(places.render_address(div, detail, style), hit(noise.missing_rate))

    birth = pop.birth[p].copy()
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

    traditional = np.flatnonzero(rng.random(n) < noise.traditional_rate)
    sur_out, giv_out = surname.copy(), given.copy()
    sur_out[traditional] = names.to_traditional(surname[traditional])
    giv_out[traditional] = names.to_traditional(given[traditional])

    space = rng.random(n) < noise.name_space_rate
    sep = np.where(space, np.where(rng.random(n) < 0.2, "\u3000", " "), "")
    titled = rng.random(n) < noise.title_suffix_rate
    suffix = np.where(titled, np.where(male, names.TITLES[0], names.TITLES[1]), "")
    name = intern(cat(sur_out, sep, giv_out, suffix))

    if system == "credit":
        rows = np.flatnonzero(rng.random(n) < noise.pinyin_name_rate)
        name[rows] = _pinyin_names(rng, surname[rows], given[rows])
    return name


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
    rng: np.random.Generator, pop: Population, p: np.ndarray, noise: NoiseConfig
) -> np.ndarray:
    n = len(p)
    matrix = idcards.matrix_from_strings(pop.id18[p])
    idcards.change_one_digit(rng, matrix, np.flatnonzero(rng.random(n) < noise.id_typo_rate))
    idcards.swap_adjacent(rng, matrix, np.flatnonzero(rng.random(n) < noise.id_transposition_rate))
    lower = (matrix[:, 17] == ord("X")) & (rng.random(n) < noise.lowercase_x_rate)
    matrix[lower, 17] = ord("x")
    out = idcards.to_strings(matrix)
    # First-generation IDs were replaced from 1999 on; only people born before then had one.
    old = (pop.birth[p] < BORN_2000) & (rng.random(n) < noise.old_id15_rate)
    out[old] = idcards.to_fifteen(matrix[old])
    return full_width(out, rng.random(n) < noise.fullwidth_rate)


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
