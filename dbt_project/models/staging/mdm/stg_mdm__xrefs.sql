with

source as (

    select * from {{ source('mdm', 'xref') }}

),

renamed as (

    select
        record_key,
        source_system,
        source_record_id,
        golden_id,
        match_rule,
        cast(match_weight as double precision) as match_weight,
        cast(linked_at as timestamp) as linked_at

    from source

)

select * from renamed
