with

source as (

    select * from {{ source('mdm', 'golden_events') }}

),

renamed as (

    select
        event_id,
        run_id,
        event_type,
        golden_id,
        {#- written as an all-NULL column when no event of the run has one #}
        cast(related_golden_id as {{ dbt.type_string() }}) as related_golden_id,
        detail,
        cast(occurred_at as timestamp) as occurred_at,
        {#- the steward decision an event applied: all NULL in a run that applied none #}
        cast(decision_id as {{ dbt.type_bigint() }}) as decision_id,
        cast(steward as {{ dbt.type_string() }}) as steward,
        cast(changed_fields as {{ dbt.type_string() }}) as changed_fields

    from source

)

select * from renamed
