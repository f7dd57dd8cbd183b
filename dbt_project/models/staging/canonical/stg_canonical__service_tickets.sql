with

source as (

    select * from {{ source('canonical', 'service_tickets') }}

),

renamed as (

    select
        {{ mdm.canonical_lineage_columns() }},
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(customer_no as {{ dbt.type_string() }}) as customer_no,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(created_at as timestamp) as created_at,
        cast(first_response_at as timestamp) as first_response_at,
        cast(resolved_at as timestamp) as resolved_at,
        cast(csat as integer) as csat,
        cast(relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(ticket_status as {{ dbt.type_string() }}) as ticket_status,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
