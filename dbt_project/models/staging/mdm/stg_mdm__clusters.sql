with

source as (

    select * from {{ source('mdm', 'clusters') }}

),

renamed as (

    select
        record_key,
        cluster_id,
        cast(cluster_size as integer) as cluster_size

    from source

)

select * from renamed
