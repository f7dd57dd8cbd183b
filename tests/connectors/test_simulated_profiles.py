"""Noise profiles: loading and validating them, scaling, per-system multipliers, the manifest,
`mdm simulate --profile`, and the default profile writing exactly what NoiseConfig() writes."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
import yaml

from connectors.simulated import PROFILES, NoiseConfig, load_noise_profile, schema, simulate
from connectors.simulated.config import POPULATION_FIELDS, PROFILES_DIR, SystemMultipliers
from connectors.simulated.records import SYSTEMS
from pipelines.cli import main as mdm
from tests.connectors.test_simulated import load

RATE_FIELDS = [f.name for f in dataclasses.fields(NoiseConfig) if f.name != "system_multipliers"]
NEW_KINDS = (
    "relative_id_rate",
    "relative_phone_rate",
    "birth_date_typo_rate",
    "birth_day_month_swap_rate",
    "lunar_birthday_rate",
    "stale_when_written_rate",
    "province_abbreviation_rate",
    "building_form_rate",
    "address_fullwidth_rate",
    "multi_phone_rate",
    "name_dot_rate",
    "similar_char_rate",
    "name_missing_rate",
)


def write_profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# Shipped profiles -------------------------------------------------------------------------


def test_the_default_profile_is_noise_config_and_lists_every_field() -> None:
    assert load_noise_profile("default") == NoiseConfig()
    assert load_noise_profile(PROFILES_DIR / "default.yaml") == NoiseConfig()
    document = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text(encoding="utf-8"))
    assert list(document) == [f.name for f in dataclasses.fields(NoiseConfig)]
    # Every value has its comment.
    lines = (PROFILES_DIR / "default.yaml").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line and not line.startswith("#"):
            assert " # " in line, line


def test_every_shipped_profile_loads_and_differs_in_kind_from_the_default() -> None:
    assert PROFILES[0] == "default"
    assert sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")) == sorted(PROFILES)
    legacy = load_noise_profile("legacy_hebei")
    default = NoiseConfig()
    assert all(getattr(default, kind) == 0 for kind in NEW_KINDS)
    assert all(getattr(legacy, kind) > 0 for kind in NEW_KINDS)
    assert legacy.system_multipliers == {"crm": 2.5}
    assert legacy.household_rate == 0.15 and legacy.homophone_rate == 0.015
    for line in (PROFILES_DIR / "legacy_hebei.yaml").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert " # " in line or line.startswith("system_multipliers"), line


def test_a_profile_may_list_only_what_differs_from_the_defaults(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "lunar_birthday_rate: 0.02\nsystem_multipliers: {crm: 2}\n")
    noise = load_noise_profile(path)
    assert noise == NoiseConfig(lunar_birthday_rate=0.02, system_multipliers={"crm": 2.0})
    assert load_noise_profile(str(path)) == noise
    assert load_noise_profile(write_profile(tmp_path, "")) == NoiseConfig()


# Validation -------------------------------------------------------------------------------


def test_an_unknown_key_is_refused_naming_the_key_and_the_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "missing_rate: 0.05\nlunar_birthdays: 0.1\n")
    with pytest.raises(ValueError, match="lunar_birthdays") as error:
        load_noise_profile(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "often", "true", "[0.1]", ".nan"])
def test_a_value_that_is_not_a_rate_is_refused_naming_the_key(tmp_path: Path, value: str) -> None:
    path = write_profile(tmp_path, f"stale_rate: 0.05\nmissing_rate: {value}\n")
    with pytest.raises(ValueError, match="missing_rate") as error:
        load_noise_profile(path)
    assert str(path) in str(error.value)


def test_malformed_yaml_and_a_document_that_is_not_a_mapping_are_refused(tmp_path: Path) -> None:
    bad = write_profile(tmp_path, "missing_rate: [0.1\n  stale_rate: 0.2\n")
    with pytest.raises(ValueError, match=r"profile\.yaml"):
        load_noise_profile(bad)
    listed = write_profile(tmp_path, "- missing_rate\n- stale_rate\n")
    with pytest.raises(ValueError, match=r"profile\.yaml"):
        load_noise_profile(listed)


def test_a_profile_that_does_not_exist_names_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="legacy_hebei"):
        load_noise_profile("no_such_profile")
    with pytest.raises(FileNotFoundError):
        load_noise_profile(tmp_path / "absent.yaml")


def test_system_multipliers_accept_only_the_simulated_systems(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "system_multipliers: {crm: 2.5, mainframe: 2}\n")
    with pytest.raises(ValueError, match="mainframe") as error:
        load_noise_profile(path)
    assert str(path) in str(error.value)
    with pytest.raises(ValueError, match="system_multipliers"):
        NoiseConfig(system_multipliers={"crm": -1})
    with pytest.raises(ValueError, match="system_multipliers"):
        NoiseConfig(system_multipliers="crm")  # type: ignore[arg-type]
    assert set(SYSTEMS) == {"core", "credit", "crm"}


def test_noise_config_refuses_a_rate_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="lunar_birthday_rate"):
        NoiseConfig(lunar_birthday_rate="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name_dot_rate"):
        NoiseConfig(name_dot_rate=1.01)


# Scaling and per-system multipliers -------------------------------------------------------


def old_bench_noise_config(multiplier: float) -> dict[str, float]:
    """What benchmarks/bench_pipeline.py's noise_config did before profiles existed: every
    NoiseConfig rate times `multiplier`, capped at 1."""
    base = NoiseConfig()
    return {name: min(1.0, getattr(base, name) * multiplier) for name in RATE_FIELDS}


@pytest.mark.parametrize("multiplier", [0.0, 0.5, 1.0, 2.0, 3.7])
def test_scaled_multiplies_every_rate_capped_at_one(multiplier: float) -> None:
    scaled = NoiseConfig().scaled(multiplier)
    assert {name: getattr(scaled, name) for name in RATE_FIELDS} == old_bench_noise_config(
        multiplier
    )
    assert scaled.system_multipliers == {}
    assert NoiseConfig().scaled(1) == NoiseConfig()
    assert NoiseConfig().scaled(2) == NoiseConfig(**old_bench_noise_config(2))
    # Shares too, as the benchmark always did.
    assert NoiseConfig().scaled(2).core_share == 1.0


def test_scaled_leaves_the_per_system_multipliers_alone_and_refuses_negatives() -> None:
    legacy = load_noise_profile("legacy_hebei")
    assert legacy.scaled(2).system_multipliers == {"crm": 2.5}
    assert legacy.scaled(2).id_typo_rate == pytest.approx(0.04)
    with pytest.raises(ValueError):
        NoiseConfig().scaled(-1)


def test_a_system_multiplier_scales_that_systems_record_level_rates_only() -> None:
    noise = NoiseConfig(system_multipliers={"crm": 2.5})
    crm = noise.for_system("crm")
    assert crm.missing_rate == pytest.approx(0.075)
    assert crm.lowercase_x_rate == pytest.approx(0.75)
    assert crm.abbreviated_address_rate == pytest.approx(0.375)
    for name in POPULATION_FIELDS:
        assert getattr(crm, name) == getattr(noise, name), name
    assert noise.for_system("core") is noise
    assert NoiseConfig(stale_rate=0.5, system_multipliers={"core": 4}).for_system(
        "core"
    ).stale_rate == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mainframe"):
        noise.for_system("mainframe")


def test_equal_multipliers_have_one_form_and_the_config_stays_frozen_and_hashable() -> None:
    assert NoiseConfig(system_multipliers={"crm": 1.0}) == NoiseConfig()
    assert NoiseConfig(system_multipliers=2).system_multipliers == dict.fromkeys(SYSTEMS, 2.0)
    legacy = load_noise_profile("legacy_hebei")
    assert hash(legacy) == hash(load_noise_profile("legacy_hebei"))
    assert isinstance(legacy.system_multipliers, SystemMultipliers)
    with pytest.raises(TypeError):
        legacy.system_multipliers["core"] = 3.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        legacy.missing_rate = 0.5  # type: ignore[misc]
    # The idiom of a noise-free configuration: every non-share field set to 0.
    zero = {name: 0.0 for name in NoiseConfig().__dict__ if not name.endswith("_share")}
    assert NoiseConfig(**zero).for_system("crm").missing_rate == 0


def test_the_system_multiplier_shows_in_that_systems_records(tmp_path: Path) -> None:
    quiet = {name: 0.0 for name in RATE_FIELDS if name not in POPULATION_FIELDS}
    noise = NoiseConfig(
        **quiet | {"province_abbreviation_rate": 0.2}, system_multipliers={"crm": 5}
    )
    simulate(tmp_path, people=500, seed=3, noise=noise)
    t = load(tmp_path)
    crm = t["crm.crm_customers"]["联系地址"]
    core = t["core.cif_customer"]["addr"]
    abbreviated = r"[冀京津晋鲁豫]"
    assert crm.str.match(abbreviated).all()
    assert 0.1 < core.str.match(abbreviated).mean() < 0.3


# The manifest and the command line --------------------------------------------------------


def test_the_manifest_records_the_profile_and_stays_json(tmp_path: Path) -> None:
    manifest = simulate(tmp_path / "legacy", people=200, seed=2, profile="legacy_hebei")
    assert manifest["profile"] == "legacy_hebei"
    written = json.loads((tmp_path / "legacy" / "manifest.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(manifest))
    assert written["noise"] == dataclasses.asdict(load_noise_profile("legacy_hebei"))
    assert written["noise"]["system_multipliers"] == {"crm": 2.5}
    assert NoiseConfig(**written["noise"]) == load_noise_profile("legacy_hebei")
    plain = simulate(tmp_path / "plain", people=200, seed=2)
    assert plain["profile"] is None and plain["noise"] == dataclasses.asdict(NoiseConfig())


def test_mdm_simulate_takes_a_profile_and_a_noise_multiplier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x2"
    args = ["simulate", "--people", "200", "--seed", "4", "--out", str(out)]
    assert mdm([*args, "--profile", "legacy_hebei", "--noise-multiplier", "2"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["profile"] == "legacy_hebei"
    assert NoiseConfig(**manifest["noise"]) == load_noise_profile("legacy_hebei").scaled(2)
    assert "legacy_hebei x2" in capsys.readouterr().out
    assert mdm(["simulate", "--people", "200", "--out", str(tmp_path / "d")]) == 0
    default = json.loads((tmp_path / "d" / "manifest.json").read_text(encoding="utf-8"))
    assert default["profile"] == "default" and NoiseConfig(**default["noise"]) == NoiseConfig()
    assert mdm([*args, "--profile", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


# The default profile writes what it always wrote ------------------------------------------


def sqlite_dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as con:
        return list(con.iterdump())


def test_the_default_profile_writes_exactly_what_noise_config_writes(tmp_path: Path) -> None:
    simulate(tmp_path / "a", people=300, seed=9, noise=NoiseConfig())
    simulate(tmp_path / "b", people=300, seed=9, noise=load_noise_profile("default"))
    for name in (schema.CORE_FILE, schema.CREDIT_FILE):
        assert sqlite_dump(tmp_path / "a" / name) == sqlite_dump(tmp_path / "b" / name), name
    files = [
        *(f"{schema.CRM_DIR}/{t}.csv" for t in schema.CRM_COLUMNS),
        schema.GROUND_TRUTH_FILE,
        schema.PEOPLE_FILE,
    ]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize(
    ("kind", "column"),
    [
        ("relative_id_rate", "cert_no"),
        ("relative_phone_rate", "mobile_no"),
        ("multi_phone_rate", "mobile_no"),
        ("lunar_birthday_rate", "birth_dt"),
        ("birth_date_typo_rate", "birth_dt"),
        ("birth_day_month_swap_rate", "birth_dt"),
        ("province_abbreviation_rate", "addr"),
        ("building_form_rate", "addr"),
        ("address_fullwidth_rate", "addr"),
        ("name_dot_rate", "cust_name"),
        ("similar_char_rate", "cust_name"),
        ("name_missing_rate", "cust_name"),
    ],
)
def test_a_new_kind_of_noise_changes_its_own_field_and_nothing_else(
    tmp_path: Path, kind: str, column: str
) -> None:
    # Each kind draws from its own random stream: on top of the default noise, switching one
    # on leaves every other field of every record as it was.
    simulate(tmp_path / "a", people=400, seed=5)
    simulate(tmp_path / "b", people=400, seed=5, noise=NoiseConfig(**{kind: 0.5}))
    a, b = (load(tmp_path / d)["core.cif_customer"] for d in ("a", "b"))
    assert (a[column].fillna("") != b[column].fillna("")).any()
    others = [c for c in a.columns if c != column]
    pd.testing.assert_frame_equal(a[others], b[others])
    assert (tmp_path / "a" / schema.PEOPLE_FILE).read_bytes() == (
        tmp_path / "b" / schema.PEOPLE_FILE
    ).read_bytes()
