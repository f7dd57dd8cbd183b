with

source as (

    select * from {{ source('canonical', 'entity_coverage') }}

),

renamed as (

    select
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(canonical_table as {{ dbt.type_string() }}) as canonical_table,
        cast(mapped as boolean) as mapped,
        cast(sources as {{ dbt.type_string() }}) as sources,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count

    from source

)

select * from renamed
