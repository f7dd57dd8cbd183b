{#
    Use a model's custom schema as-is (`staging`, `intermediate`, `marts`) instead of dbt's
    default `<target schema>_<custom schema>`: the API and the pipeline read `marts.customer_360`
    on every target. Nodes without a custom schema (tests, seeds) go to the target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
