{#-
    One row per golden customer that has a CRM record: its relationship manager and branch.
    A golden customer with several CRM records takes the one that names a manager, then the
    most recently updated, then the smallest CRM number. branch_no is the CRM customer's own
    branch (所属网点), else the manager's branch.
-#}

with

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

crm_xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}
    where source_system = 'crm'

),

relationship_managers as (

    select * from {{ ref('stg_crm__relationship_managers') }}

),

ranked as (

    select
        crm_xrefs.golden_id,
        crm_customers.crm_customer_no,
        crm_customers.relationship_manager_id,
        crm_customers.branch_no,
        row_number() over (
            partition by crm_xrefs.golden_id
            order by
                case when crm_customers.relationship_manager_id is null then 1 else 0 end,
                crm_customers.updated_at desc nulls last,
                crm_customers.crm_customer_no
        ) as preference

    from crm_customers
    inner join crm_xrefs
        on crm_xrefs.source_record_id = crm_customers.crm_customer_no

),

assigned as (

    select
        ranked.golden_id,
        ranked.crm_customer_no,
        ranked.relationship_manager_id,
        relationship_managers.relationship_manager_name,
        coalesce(ranked.branch_no, relationship_managers.branch_no) as branch_no

    from ranked
    left join relationship_managers
        on relationship_managers.relationship_manager_id = ranked.relationship_manager_id
    where ranked.preference = 1

)

select * from assigned
