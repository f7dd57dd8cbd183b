with

source as (

    select * from {{ source('raw', 'crm__crm_relationship_managers') }}

),

renamed as (

    select
        {{ mdm.clean_text('"客户经理编号"') }} as relationship_manager_id,
        {{ mdm.clean_text('"姓名"') }} as relationship_manager_name,
        {{ mdm.clean_text('"所属网点"') }} as branch_no,
        {{ mdm.clean_text('"网点名称"') }} as branch_name,
        {{ mdm.raw_audit_columns() }}

    from source

),

final as (

    {{ mdm.latest_version('renamed', 'relationship_manager_id') }}

)

select * from final
