{#
    Helpers shared by the staging models over raw.<system>__<table>.

    raw_audit_columns(): the three landing columns every raw table carries, renamed and cast:
        batch_id, row_hash, extracted_at (the extract's timestamp; any fraction of a second or
        zone suffix after the first 19 characters is ignored).

    latest_version(cte_name, key_columns): select from a CTE only the newest version of each
        key (greatest extracted_at, then greatest batch_id). A raw table that holds a single
        batch passes through unchanged; one that accumulates incremental batches yields one row
        per source key, so the staging primary-key tests stay meaningful.
#}

{% macro raw_audit_columns() -%}
        _batch_id as batch_id,
        _row_hash as row_hash,
        {{ mdm.parse_timestamp('substr(_extracted_at, 1, 19)', ['%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S']) }} as extracted_at
{%- endmacro %}


{% macro latest_version(cte_name, key_columns) -%}
    {%- if key_columns is string -%}
        {%- set key_columns = [key_columns] -%}
    {%- endif -%}
    select candidate.*
    from {{ cte_name }} as candidate
    where not exists (
        select 1
        from {{ cte_name }} as newer
        where
            {% for key in key_columns -%}
            newer.{{ key }} = candidate.{{ key }}
            and {% endfor -%}
            (
                newer.extracted_at > candidate.extracted_at
                or (newer.extracted_at = candidate.extracted_at and newer.batch_id > candidate.batch_id)
            )
    )
{%- endmacro %}
