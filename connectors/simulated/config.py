"""Every knob of the simulated trouble, with defaults that look like a real regional bank."""

from __future__ import annotations

from dataclasses import dataclass, fields

GENERATOR_VERSION = "1.0.0"


@dataclass(frozen=True)
class NoiseConfig:
    """Rates of each kind of trouble.

    Record-level rates apply to each source record independently (a person held by two
    systems can be clean in one and messy in the other); person-level rates (twins,
    households) shape the population itself.
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

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"NoiseConfig.{f.name} must be within [0, 1], got {value}")
