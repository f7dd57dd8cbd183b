with

source as (

    select * from {{ source('canonical', 'relationship_managers') }}

),

renamed as (

    select
        {{ mdm.canonical_lineage_columns(owner=false) }},
        cast(relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(relationship_manager_name as {{ dbt.type_string() }}) as relationship_manager_name,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(branch_name as {{ dbt.type_string() }}) as branch_name,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
