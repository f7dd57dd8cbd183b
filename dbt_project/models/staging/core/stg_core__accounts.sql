with

source as (

    select * from {{ source('raw', 'core__dep_account') }}

),

renamed as (

    select
        acct_no as account_no,
        cust_no as customer_no,
        acct_type as account_type,
        product_cd as product_code,
        currency,
        cast({{ mdm.clean_text('balance') }} as numeric(18, 2)) as balance,
        {{ mdm.parse_date('open_dt', ['%Y-%m-%d', '%Y%m%d']) }} as opened_on,
        {{ mdm.parse_date('maturity_dt', ['%Y-%m-%d', '%Y%m%d']) }} as maturity_date,
        branch_no,
        status as account_status,
        {{ mdm.parse_timestamp('last_upd_ts', ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']) }} as updated_at,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'account_no') }}

)

select * from final
