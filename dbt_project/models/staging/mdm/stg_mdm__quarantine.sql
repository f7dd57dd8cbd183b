with

source as (

    select * from {{ source('mdm', 'quarantine') }}

),

renamed as (

    select
        source_system,
        source_record_id,
        batch_id,
        rule,
        reason,
        raw_payload,
        cast(quarantined_at as timestamp) as quarantined_at

    from source

)

select * from renamed
