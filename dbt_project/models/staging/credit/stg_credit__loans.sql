with

source as (

    select * from {{ source('raw', 'credit__loan') }}

),

renamed as (

    select
        "LOAN_ID" as loan_id,
        "APP_ID" as application_id,
        "BORROWER_ID" as borrower_id,
        cast({{ mdm.clean_text('"PRINCIPAL"') }} as numeric(18, 2)) as principal,
        cast({{ mdm.clean_text('"OUTSTANDING"') }} as numeric(18, 2)) as outstanding,
        cast({{ mdm.clean_text('"RATE"') }} as numeric(9, 6)) as interest_rate,
        {{ mdm.parse_date('"START_DATE"', ['%Y-%m-%d', '%Y%m%d']) }} as start_date,
        {{ mdm.parse_date('"END_DATE"', ['%Y-%m-%d', '%Y%m%d']) }} as end_date,
        "FIVE_TIER" as five_tier_class,
        "BRANCH_NO" as branch_no,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'loan_id') }}

)

select * from final
