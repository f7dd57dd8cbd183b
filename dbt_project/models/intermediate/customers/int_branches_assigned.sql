{#-
    One row per golden customer that any source places at a branch: the branch that serves it.
    Sources in order of preference:
      crm     the CRM assignment (int_relationship_managers_assigned: the CRM customer's 所属网点,
              else its relationship manager's branch)
      core    the branch that opened the customer's most recently updated core CIF
      credit  the branch of the customer's most recently submitted loan application
-#}

with

crm_assignments as (

    select * from {{ ref('int_relationship_managers_assigned') }}
    where branch_no is not null

),

core_customers as (

    select * from {{ ref('stg_core__customers') }}

),

loan_applications as (

    select * from {{ ref('stg_credit__loan_applications') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

core_branches as (

    select
        xrefs.golden_id,
        core_customers.open_branch_no as branch_no,
        row_number() over (
            partition by xrefs.golden_id
            order by core_customers.updated_at desc nulls last, core_customers.customer_no
        ) as preference

    from core_customers
    inner join xrefs
        on xrefs.source_system = 'core'
        and xrefs.source_record_id = core_customers.customer_no
    where core_customers.open_branch_no is not null

),

credit_branches as (

    select
        xrefs.golden_id,
        loan_applications.branch_no,
        row_number() over (
            partition by xrefs.golden_id
            order by loan_applications.submitted_at desc nulls last, loan_applications.application_id
        ) as preference

    from loan_applications
    inner join xrefs
        on xrefs.source_system = 'credit'
        and xrefs.source_record_id = loan_applications.borrower_id
    where loan_applications.branch_no is not null

),

candidates as (

    select golden_id, branch_no, 'crm' as branch_source, 1 as source_rank
    from crm_assignments

    union all

    select golden_id, branch_no, 'core' as branch_source, 2 as source_rank
    from core_branches
    where preference = 1

    union all

    select golden_id, branch_no, 'credit' as branch_source, 3 as source_rank
    from credit_branches
    where preference = 1

),

ranked as (

    select
        candidates.*,
        row_number() over (partition by golden_id order by source_rank) as preference

    from candidates

),

final as (

    select
        golden_id,
        branch_no,
        branch_source

    from ranked
    where preference = 1

)

select * from final
