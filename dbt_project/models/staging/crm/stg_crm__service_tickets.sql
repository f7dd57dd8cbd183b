{%- set timestamp_formats = ['%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S'] -%}

with

source as (

    select * from {{ source('raw', 'crm__crm_service_tickets') }}

),

renamed as (

    select
        {{ mdm.clean_text('"工单编号"') }} as ticket_id,
        {{ mdm.clean_text('"客户编号"') }} as crm_customer_no,
        {{ mdm.clean_text('"渠道"') }} as channel,
        {{ mdm.clean_text('"类别"') }} as category,
        {{ mdm.parse_timestamp('"创建时间"', timestamp_formats) }} as created_at,
        {{ mdm.parse_timestamp('"首次响应时间"', timestamp_formats) }} as first_response_at,
        {{ mdm.parse_timestamp('"解决时间"', timestamp_formats) }} as resolved_at,
        cast(cast({{ mdm.clean_text('"满意度"') }} as numeric(4, 1)) as integer) as csat,
        {{ mdm.clean_text('"客户经理"') }} as relationship_manager_id,
        {{ mdm.clean_text('"所属网点"') }} as branch_no,
        {{ mdm.clean_text('"状态"') }} as ticket_status,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'ticket_id') }}

)

select * from final
