{%- set timestamp_formats = ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S'] -%}

with

source as (

    select * from {{ source('raw', 'credit__loan_application') }}

),

renamed as (

    select
        "APP_ID" as application_id,
        "BORROWER_ID" as borrower_id,
        "PRODUCT" as product,
        cast({{ mdm.clean_text('"AMOUNT"') }} as numeric(18, 2)) as amount,
        "BRANCH_NO" as branch_no,
        {{ mdm.parse_timestamp('"SUBMITTED_AT"', timestamp_formats) }} as submitted_at,
        {{ mdm.parse_timestamp('"PRE_REVIEW_AT"', timestamp_formats) }} as pre_reviewed_at,
        {{ mdm.parse_timestamp('"CREDIT_REVIEW_AT"', timestamp_formats) }} as credit_reviewed_at,
        {{ mdm.parse_timestamp('"APPROVED_AT"', timestamp_formats) }} as approved_at,
        {{ mdm.parse_timestamp('"DISBURSED_AT"', timestamp_formats) }} as disbursed_at,
        "STATUS" as application_status,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'application_id') }}

)

select * from final
