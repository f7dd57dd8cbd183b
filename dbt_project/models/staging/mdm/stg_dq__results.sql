{#- dq.results is created by the first quality check that runs. On a warehouse without it
    (a fresh one, or a fixture built for the marts only) this view is empty instead of failing
    the build; the source() call keeps the lineage either way. -#}
{%- set results = source('dq', 'results') -%}
{%- set relation = adapter.get_relation(
        database=results.database, schema=results.schema, identifier=results.identifier
    ) if execute else none %}

-- The golden records and xref carry the last checkpoint's blocking checks: depending on them
-- makes this view (and dq_scorecard) run after every check of the run has written its rows.
-- depends_on: {{ source('mdm', 'golden_records') }}, {{ source('mdm', 'xref') }}

with

source as (

    {% if relation is not none or not execute %}
    select * from {{ results }}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as run_id,
        cast(null as {{ dbt.type_timestamp() }}) as checked_at,
        cast(null as {{ dbt.type_string() }}) as stage,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        cast(null as {{ dbt.type_string() }}) as dimension,
        cast(null as {{ dbt.type_string() }}) as severity,
        cast(null as {{ dbt.type_string() }}) as source_system,
        cast(null as {{ dbt.type_bigint() }}) as evaluated,
        cast(null as {{ dbt.type_bigint() }}) as failed,
        cast(null as {{ dbt.type_float() }}) as score,
        cast(null as {{ dbt.type_boolean() }}) as passed,
        cast(null as {{ dbt.type_string() }}) as examples
    where 1 = 0
    {% endif %}

),

renamed as (

    select
        {{ dbt.concat(["run_id", "':'", "rule_id", "':'", "source_system"]) }} as result_key,
        run_id,
        cast(checked_at as {{ dbt.type_timestamp() }}) as checked_at,
        stage,
        rule_id,
        dimension,
        severity,
        source_system,
        cast(evaluated as {{ dbt.type_bigint() }}) as evaluated,
        cast(failed as {{ dbt.type_bigint() }}) as failed,
        cast(score as {{ dbt.type_float() }}) as score,
        cast(passed as {{ dbt.type_boolean() }}) as passed,
        examples

    from source

)

select * from renamed
