{#
    canonical_lineage_columns(owner=true): the lineage columns every canonical.* table starts
    with (docs/CONTRACTS.md §2b), cast to text on both targets. A column the canonical stage
    wrote all-NULL has DuckDB's NULL type, hence the cast even on columns that are text
    already. owner=false for entities with no owning customer (relationship managers).
#}

{% macro canonical_lineage_columns(owner=true) -%}
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(record_key as {{ dbt.type_string() }}) as record_key,
        {%- if owner %}
        cast(owner_record_key as {{ dbt.type_string() }}) as owner_record_key,
        {%- endif %}
        cast(batch_id as {{ dbt.type_string() }}) as batch_id
{%- endmacro %}
