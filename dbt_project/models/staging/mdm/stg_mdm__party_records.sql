with

source as (

    select * from {{ source('mdm', 'party_records') }}

),

renamed as (

    select
        record_key,
        source_system,
        source_record_id,
        cast(source_updated_at as timestamp) as source_updated_at,
        batch_id,
        name_raw,
        name,
        name_pinyin,
        name_script,
        id_type,
        id_number,
        cast(id_valid as boolean) as id_valid,
        id_issue,
        cast(birth_date as date) as birth_date,
        gender,
        mobile,
        phone_other,
        email,
        address_raw,
        address,
        province,
        city,
        district,
        adcode,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(source_trust as integer) as source_trust

    from source

)

select * from renamed
