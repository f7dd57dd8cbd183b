{#-
    One row per relationship manager's staff ID. Two sources may list the same manager (a
    CRM and an HR export): the most recently updated row wins, then the smallest record_key,
    so a join on relationship_manager_id never fans out.
-#}

with

relationship_managers as (

    select * from {{ ref('stg_canonical__relationship_managers') }}

),

ranked as (

    select
        relationship_managers.*,
        row_number() over (
            partition by relationship_manager_id
            order by updated_at desc nulls last, record_key
        ) as preference

    from relationship_managers

),

final as (

    select
        relationship_manager_id,
        relationship_manager_name,
        branch_no,
        branch_name,
        source_system,
        record_key

    from ranked
    where preference = 1

)

select * from final
