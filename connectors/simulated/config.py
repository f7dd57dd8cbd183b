"""Every knob of the simulated trouble, with defaults that look like a real regional bank.

The knobs are usually read from a YAML *profile* (`profiles/*.yaml`, docs/SIMULATOR_PROFILES.md):
`load_noise_profile("legacy_hebei")` or `load_noise_profile(Path("my.yaml"))`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from numbers import Real
from pathlib import Path
from typing import Any, NoReturn

import yaml

GENERATOR_VERSION = "1.0.0"

#: The simulated systems, in the order they are generated.
SYSTEMS = ("core", "credit", "crm")
#: The folder of the shipped profiles, and their names (`<name>.yaml` in it).
PROFILES_DIR = Path(__file__).resolve().with_name("profiles")
PROFILES = ("default", "legacy_hebei")
#: Rates that shape the population or who holds whom, not the records: a per-system
#: multiplier leaves them alone. Every other rate is record-level.
POPULATION_FIELDS = frozenset(
    {
        "core_share",
        "credit_share",
        "crm_share",
        "twin_rate",
        "household_rate",
        "household_shared_phone_rate",
        "twin_shared_phone_rate",
    }
)
MULTIPLIERS_FIELD = "system_multipliers"


class SystemMultipliers(dict[str, float]):
    """Per-system multipliers of the record-level rates, e.g. `{"crm": 2.5}`.

    A `dict` (so `dataclasses.asdict` and `json.dumps` take it as one) that cannot change and
    can be hashed, so a frozen NoiseConfig holding one stays frozen and hashable.
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __repr__(self) -> str:
        return f"SystemMultipliers({dict(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("SystemMultipliers cannot be changed; build a new NoiseConfig")

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse  # type: ignore[assignment]
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse


@dataclass(frozen=True)
class NoiseConfig:
    """Rates of each kind of trouble.

    Record-level rates apply to each source record independently (a person held by two
    systems can be clean in one and messy in the other); person-level rates (twins,
    households) shape the population itself. A rate is the share of all records showing the
    damage; where a damage needs something only some records have (a household, a
    confusable character, a flat number, a day of month <= 12), the rate is raised among
    those records so that the share over all records holds (capped at 1).
    """

    # Who holds whom. Shares are of the population; a person no system drew is given to one
    # system (picked in proportion to these shares), so every person is somebody's customer.
    core_share: float = 0.85
    credit_share: float = 0.30
    crm_share: float = 0.50
    # Share of (person, system) holdings with a second record in the same system.
    duplicate_rate: float = 0.03

    # Names.
    homophone_rate: float = 0.03  # one given-name character swapped for a homophone
    traditional_rate: float = 0.02  # name written in traditional characters (OpenCC s2t)
    pinyin_name_rate: float = 0.03  # credit only: ZHANG WEI / Zhang Wei / Wei Zhang
    title_suffix_rate: float = 0.005  # 先生 / 女士 appended
    name_space_rate: float = 0.01  # a stray (half- or full-width) space inside the name

    # Resident IDs and phones.
    fullwidth_rate: float = 0.01  # digits typed full-width (per field: ID, phone)
    old_id15_rate: float = 0.03  # 15-digit first-generation ID, of records of people born < 2000
    id_typo_rate: float = 0.01  # one digit changed
    id_transposition_rate: float = 0.005  # two adjacent digits swapped
    lowercase_x_rate: float = 0.3  # of IDs whose check digit is X, share typed as x
    passport_rate: float = 0.003  # core only: registered with a passport (cert_type 02)
    phone_format_rate: float = 0.10  # +86 / 0086 / 86 prefixes, - and space separators
    landline_rate: float = 0.02  # a landline like 0311-85551234 instead of the mobile

    # Addresses.
    abbreviated_address_rate: float = 0.15  # 河北石家庄长安区… or 石家庄市长安区…

    # Everywhere.
    missing_rate: float = 0.03  # per field: ID, phone, address, birth date, gender
    stale_rate: float = 0.05  # per field (phone, address): an older value kept by this system
    junk_rate: float = 0.003  # rows a cleansing stage must quarantine, per system

    # Hard cases in the population.
    twin_rate: float = 0.005  # share of people who have a twin
    household_rate: float = 0.10  # share of people living in a household of 2-4
    household_shared_phone_rate: float = 0.3  # of household members, share using the head's phone
    twin_shared_phone_rate: float = 0.6  # of twins, share using their sibling's phone

    # Kinds of trouble the default profile does not have (all off by default; each draws
    # from its own random stream, so switching one on changes nothing else).
    relative_id_rate: float = 0.0  # the resident ID of another household member (or twin)
    relative_phone_rate: float = 0.0  # another household member's mobile
    birth_date_typo_rate: float = 0.0  # one digit of the stated birth date changed
    birth_day_month_swap_rate: float = 0.0  # day and month swapped (day <= 12, day != month)
    lunar_birthday_rate: float = 0.0  # the lunar-calendar birthday: 15-50 days early
    stale_when_written_rate: float = 0.0  # old phone and address, yet a recent update time
    province_abbreviation_rate: float = 0.0  # 冀保定满城区… / 京朝阳区…
    building_form_rate: float = 0.0  # 5号楼2单元301, 5幢2单元301室, 5#2-301, 5号楼2-301, 5-2-301
    address_fullwidth_rate: float = 0.0  # the address's digits typed full-width (５３５号)
    multi_phone_rate: float = 0.0  # two numbers in the phone field: 138…/0311-8555…
    name_dot_rate: float = 0.0  # a stray middle dot between surname and given name: 乔·淑珍
    similar_char_rate: float = 0.0  # a given-name character replaced by a look-alike (形近字)
    name_missing_rate: float = 0.0  # the name left empty

    # Every record-level rate of a system's records times the system's multiplier, capped at
    # 1: `{"crm": 2.5}`; an unlisted system keeps 1. A number given here applies to every
    # system. Not a rate, so not bounded by 1, and `scaled()` leaves it alone.
    system_multipliers: Mapping[str, float] = field(default_factory=SystemMultipliers)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == MULTIPLIERS_FIELD:
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, Real):
                raise ValueError(f"NoiseConfig.{f.name} must be a number, got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"NoiseConfig.{f.name} must be within [0, 1], got {value}")
        object.__setattr__(self, MULTIPLIERS_FIELD, _canonical_multipliers(self.system_multipliers))

    def scaled(self, multiplier: float) -> NoiseConfig:
        """Every rate times `multiplier`, capped at 1: population shares and person-level
        rates included, the per-system multipliers not (they are not rates)."""
        if isinstance(multiplier, bool) or not _non_negative(multiplier):
            raise ValueError(f"a noise multiplier must be a number >= 0, got {multiplier!r}")
        return replace(
            self,
            **{
                f.name: min(1.0, getattr(self, f.name) * multiplier)
                for f in fields(self)
                if f.name != MULTIPLIERS_FIELD
            },
        )

    def multiplier(self, system: str) -> float:
        """The factor on every record-level rate of `system`'s records."""
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r} (systems: {', '.join(SYSTEMS)})")
        return float(self.system_multipliers.get(system, 1.0))

    def for_system(self, system: str) -> NoiseConfig:
        """The rates `system`'s records get: record-level rates times the system's multiplier
        (capped at 1), the multiplier then spent (1)."""
        factor = self.multiplier(system)
        if factor == 1.0:
            return self
        return replace(
            self,
            system_multipliers=SystemMultipliers(),
            **{
                f.name: min(1.0, getattr(self, f.name) * factor)
                for f in fields(self)
                if f.name != MULTIPLIERS_FIELD and f.name not in POPULATION_FIELDS
            },
        )


def _non_negative(value: object) -> bool:
    return isinstance(value, Real) and math.isfinite(value) and float(value) >= 0


def _canonical_multipliers(value: object) -> SystemMultipliers:
    """One form per meaning, so equal configurations compare equal: the systems whose factor
    is not 1, in SYSTEMS order. A number is every system's factor."""
    where = f"NoiseConfig.{MULTIPLIERS_FIELD}"
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a mapping of system to number, got {value!r}")
    if isinstance(value, Real):
        if not _non_negative(value):
            raise ValueError(f"{where} must be >= 0, got {value!r}")
        value = dict.fromkeys(SYSTEMS, float(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping of system to number, got {value!r}")
    given: dict[str, float] = {}
    for system, factor in value.items():
        if system not in SYSTEMS:
            raise ValueError(f"{where}: unknown system {system!r} (systems: {', '.join(SYSTEMS)})")
        if isinstance(factor, bool) or not _non_negative(factor):
            raise ValueError(f"{where}[{system!r}] must be a number >= 0, got {factor!r}")
        given[system] = float(factor)
    return SystemMultipliers({s: given[s] for s in SYSTEMS if given.get(s, 1.0) != 1.0})


def profile_path(name_or_path: str | Path) -> Path:
    """A shipped profile's file for a bare name (`legacy_hebei`), else the path itself."""
    text = str(name_or_path)
    bare = isinstance(name_or_path, str) and not any(c in text for c in "/\\")
    if bare and not text.endswith((".yaml", ".yml")):
        return PROFILES_DIR / f"{text}.yaml"
    return Path(name_or_path)


def load_noise_profile(name_or_path: str | Path) -> NoiseConfig:
    """The NoiseConfig a YAML profile describes; fields it leaves out keep their defaults.

    A bare name is a shipped profile (`PROFILES`); anything else is a path. Raises
    FileNotFoundError for a profile that does not exist and ValueError, naming the file and
    the key, for malformed YAML, an unknown key or a value out of range.
    """
    path = profile_path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no noise profile {str(name_or_path)!r}: not a shipped profile "
            f"({', '.join(PROFILES)}) nor a file ({path})"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a valid YAML noise profile: {error}") from error
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ValueError(
            f"{path}: a noise profile is a mapping of NoiseConfig fields to values, "
            f"got {type(document).__name__}"
        )
    known = [f.name for f in fields(NoiseConfig)]
    for key, value in document.items():
        if key not in known:
            raise ValueError(f"{path}: unknown key {key!r} (known keys: {', '.join(known)})")
        if key == MULTIPLIERS_FIELD:
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) <= 1:
            raise ValueError(f"{path}: {key} must be a number within [0, 1], got {value!r}")
    try:
        return NoiseConfig(**document)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
