with

source as (

    select * from {{ source('raw', 'crm__crm_customers') }}

),

renamed as (

    select
        {{ mdm.clean_text('"客户编号"') }} as crm_customer_no,
        {{ mdm.clean_text('"姓名"') }} as customer_name,
        {{ mdm.clean_text('"证件号码"') }} as id_number,
        {{ mdm.clean_text('"手机"') }} as mobile,
        {{ mdm.clean_text('"联系地址"') }} as address,
        {{ mdm.parse_date('"出生日期"', ['%Y年%m月%d日', '%Y-%m-%d', '%Y%m%d', '%Y/%m/%d']) }} as birth_date,
        {{ mdm.clean_text('"性别"') }} as gender,
        {{ mdm.clean_text('"客户经理"') }} as relationship_manager_id,
        {{ mdm.clean_text('"所属网点"') }} as branch_no,
        {{ mdm.parse_timestamp('"更新时间"', ['%Y/%m/%d %H:%M', '%Y/%m/%d %H:%M:%S', '%Y-%m-%d %H:%M:%S']) }} as updated_at,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'crm_customer_no') }}

)

select * from final
