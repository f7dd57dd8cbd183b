with

source as (

    select * from {{ source('mdm', 'golden_records') }}

),

renamed as (

    select
        golden_id,
        name,
        name_pinyin,
        id_type,
        id_number,
        cast(birth_date as date) as birth_date,
        gender,
        mobile,
        email,
        address,
        province,
        city,
        district,
        adcode,
        cast(source_count as integer) as source_count,
        source_systems,
        status,
        survivor_id,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
