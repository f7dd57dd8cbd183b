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
