{#-
    One row per service ticket of an active golden customer created up to var as_of_date: the
    detail behind customer_360's ticket counts, with the elapsed times and SLA outcome of
    int_tickets_linked. Tickets created after the business date are left out, as customer_360
    leaves them out of its counts.
-#}

with

golden_records as (

    select golden_id from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

tickets as (

    select * from {{ ref('int_tickets_linked') }}
    where created_at < {{ dbt.dateadd('day', 1, mdm.as_of_date()) }}

),

final as (

    select
        cast(tickets.record_key as {{ dbt.type_string() }}) as record_key,
        cast(tickets.golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(tickets.source_system as {{ dbt.type_string() }}) as source_system,
        cast(tickets.ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(tickets.channel as {{ dbt.type_string() }}) as channel,
        cast(tickets.category as {{ dbt.type_string() }}) as category,
        cast(tickets.ticket_status as {{ dbt.type_string() }}) as ticket_status,
        tickets.is_complaint,
        tickets.is_resolved,
        cast(tickets.created_at as timestamp) as created_at,
        cast(tickets.first_response_at as timestamp) as first_response_at,
        cast(tickets.resolved_at as timestamp) as resolved_at,
        cast(tickets.first_response_minutes as numeric(18, 4)) as first_response_minutes,
        cast(tickets.resolution_minutes as numeric(18, 4)) as resolution_minutes,
        cast(tickets.sla_outcome as {{ dbt.type_string() }}) as sla_outcome,
        cast(tickets.csat as integer) as csat,
        cast(tickets.relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(tickets.branch_no as {{ dbt.type_string() }}) as branch_no,
        {{ mdm.as_of_date() }} as as_of_date

    from tickets
    inner join golden_records
        on golden_records.golden_id = tickets.golden_id

)

select * from final
