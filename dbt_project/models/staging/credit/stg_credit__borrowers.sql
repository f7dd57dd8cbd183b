with

source as (

    select * from {{ source('raw', 'credit__borrower') }}

),

renamed as (

    select
        "BORROWER_ID" as borrower_id,
        "FULL_NAME" as full_name,
        "ID_CARD_NO" as id_card_no,
        "PHONE" as phone,
        {{ mdm.parse_date('"BIRTHDAY"', ['%Y-%m-%d', '%Y/%m/%d']) }} as birth_date,
        "SEX" as sex,
        "HOME_ADDRESS" as home_address,
        "EMPLOYER" as employer,
        {{ mdm.parse_timestamp('"UPDATED_AT"', ['%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S']) }} as updated_at,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'borrower_id') }}

)

select * from final
