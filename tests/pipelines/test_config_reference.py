"""docs/CONFIG_REFERENCE.md is the schema's: regenerate it when a config key changes."""

from pipelines.config_reference import REFERENCE_PATH, render


def test_the_reference_matches_the_schema():
    assert REFERENCE_PATH.read_text(encoding="utf-8") == render(), (
        "docs/CONFIG_REFERENCE.md is stale: run `.venv/bin/python -m pipelines.config_reference`"
    )


def test_every_canonical_field_and_entity_is_in_the_reference():
    from connectors.entities import ENTITIES
    from matching.standardize.party import CANONICAL_FIELDS

    text = render()
    for name in CANONICAL_FIELDS:
        assert f"| `{name}` |" in text
    for entity in ENTITIES.values():
        assert f"### `{entity.name}` → `{entity.table}`" in text
        for field in entity.fields:
            assert f"| `{field.name}` | {field.kind} |" in text


def test_the_readmes_source_example_is_a_valid_config(tmp_path):
    # The README is where a new user starts; its example must load as written (and it runs:
    # tests/pipelines/test_second_bank.py).
    import re

    from connectors.settings import PROJECT_ROOT
    from pipelines.mdm_config import load_config

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pointing it at your own sources", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    config_path = tmp_path / "my-mdm.yaml"
    config_path.write_text(example, encoding="utf-8")
    config = load_config(config_path)
    assert set(config.sources) == {"cbs", "card"}
    assert config.sources["cbs"].identifiers is not None
    assert "account" in config.sources["cbs"].entities
    assert config.sources["card"].quality.min_valid_id_rate == 0.6
