with

source as (

    select * from {{ source('raw', 'core__cif_customer') }}

),

renamed as (

    select
        cust_no as customer_no,
        cust_name as customer_name,
        cert_type,
        cert_no,
        gender_cd as gender_code,
        {{ mdm.parse_date('birth_dt', ['%Y%m%d', '%Y-%m-%d']) }} as birth_date,
        mobile_no,
        addr as address,
        open_branch_no,
        {{ mdm.parse_date('open_dt', ['%Y-%m-%d', '%Y%m%d']) }} as opened_on,
        {{ mdm.parse_timestamp('last_upd_ts', ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']) }} as updated_at,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'customer_no') }}

)

select * from final
