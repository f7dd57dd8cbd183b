{#-
    One row per golden customer that anything places at a branch: the branch that serves it.
    Candidates, in order of preference:
      party_record          the branch_no of the customer's party records (any source that
                            maps it): the most trusted source first, then the most recently
                            updated record, then the smallest record_key
      relationship_manager  the branch of the customer's relationship manager
                            (int_relationship_managers_assigned)
      loan_application /    the branch of the customer's latest activity: the most recently
      account               submitted loan application or opened account, whichever is later
-#}

with

party_records as (

    select * from {{ ref('stg_mdm__party_records') }}
    where branch_no is not null

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

assignments as (

    select * from {{ ref('int_relationship_managers_assigned') }}
    where relationship_manager_branch_no is not null

),

loan_applications as (

    select * from {{ ref('int_loan_applications_timed') }}
    where golden_id is not null and branch_no is not null

),

accounts as (

    select * from {{ ref('int_accounts_linked') }}
    where golden_id is not null and branch_no is not null

),

party_branches as (

    select
        xrefs.golden_id,
        party_records.branch_no,
        row_number() over (
            partition by xrefs.golden_id
            order by
                party_records.source_trust asc nulls last,
                party_records.source_updated_at desc nulls last,
                party_records.record_key
        ) as preference

    from party_records
    inner join xrefs
        on xrefs.record_key = party_records.record_key

),

activity as (

    select
        golden_id,
        branch_no,
        cast(submitted_at as timestamp) as happened_at,
        'loan_application' as branch_source,
        record_key

    from loan_applications

    union all

    select
        golden_id,
        branch_no,
        cast(opened_on as timestamp) as happened_at,
        'account' as branch_source,
        record_key

    from accounts

),

activity_branches as (

    select
        activity.*,
        row_number() over (
            partition by golden_id
            order by happened_at desc nulls last, branch_source, record_key
        ) as preference

    from activity

),

candidates as (

    select golden_id, branch_no, 'party_record' as branch_source, 1 as source_rank
    from party_branches
    where preference = 1

    union all

    select
        golden_id,
        relationship_manager_branch_no as branch_no,
        'relationship_manager' as branch_source,
        2 as source_rank
    from assignments

    union all

    select golden_id, branch_no, branch_source, 3 as source_rank
    from activity_branches
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
