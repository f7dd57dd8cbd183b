"""mdm.yaml validation: a malformed config names the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.settings import PROJECT_ROOT
from pipelines.mdm_config import ConfigError, load_config


def write_config(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    mutate(document)
    path = tmp_path / "mdm.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_config_loads_and_resolves_paths_against_its_folder():
    config = load_config(PROJECT_ROOT / "mdm.yaml")
    assert set(config.sources) == {"core", "credit", "crm"}
    assert config.sources["crm"].path == (PROJECT_ROOT / "var/sources/crm").resolve()
    assert (
        config.sources["core"].url
        == f"sqlite:///{(PROJECT_ROOT / 'var/sources/core_banking.sqlite').resolve()}"
    )


def test_unknown_connector_is_reported_with_its_key(tmp_path):
    path = write_config(tmp_path, lambda d: d["sources"]["core"].update(connector="oracle"))
    with pytest.raises(ConfigError, match=r"sources\.core\.connector"):
        load_config(path)


def test_mapping_to_an_unknown_canonical_field_is_reported(tmp_path):
    path = write_config(tmp_path, lambda d: d["sources"]["crm"]["mapping"].update(nickname="昵称"))
    with pytest.raises(ConfigError, match=r"sources\.crm.*nickname"):
        load_config(path)


def test_misspelled_top_level_key_is_reported(tmp_path):
    path = write_config(tmp_path, lambda d: d.update(survivorship_rules={}))
    with pytest.raises(ConfigError, match="survivorship_rules"):
        load_config(path)


def test_threshold_out_of_range_names_the_threshold(tmp_path):
    path = write_config(tmp_path, lambda d: d["quality"].update(max_quarantine_rate=1.5))
    with pytest.raises(ConfigError, match=r"quality\.max_quarantine_rate"):
        load_config(path)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_matching_engine_names_the_key(tmp_path):
    path = write_config(tmp_path, lambda d: d.update(spark={"engine": "hadoop"}))
    with pytest.raises(ConfigError, match=r"spark\.engine"):
        load_config(path)


def test_spark_engine_gives_the_definitions_a_spark_resource(tmp_path):
    from connectors.settings import Settings
    from pipelines.build import build_resources
    from pipelines.resources import SparkResource

    path = write_config(
        tmp_path, lambda d: d.update(spark={"engine": "spark", "master": "local[1]"})
    )
    config = load_config(path)
    settings = Settings(home=tmp_path / "var", config_path=path)
    resource = build_resources(settings, config)["spark"]
    assert isinstance(resource, SparkResource) and resource.master == "local[1]"
    assert "spark" not in build_resources(settings, load_config(PROJECT_ROOT / "mdm.yaml"))
    # The match asset asks for the session only then: the definitions load with it, not without.
    import dagster as dg

    from pipelines.build import build_mdm_assets

    dg.Definitions.validate_loadable(
        dg.Definitions(assets=build_mdm_assets(config), resources=build_resources(settings, config))
    )
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="spark"):
        dg.Definitions.validate_loadable(
            dg.Definitions(assets=build_mdm_assets(config), resources=build_resources(settings))
        )
