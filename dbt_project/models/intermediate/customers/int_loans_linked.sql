{#- Loans of every source with the golden customer of their borrower and the rank of their five-tier class. -#}

with

loans as (

    select * from {{ ref('stg_canonical__loans') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

linked as (

    select
        loans.record_key,
        loans.loan_id,
        xrefs.golden_id,
        loans.source_system,
        loans.owner_record_key,
        loans.application_id,
        loans.principal,
        loans.outstanding,
        loans.interest_rate,
        loans.start_date,
        loans.end_date,
        loans.five_tier_class,
        {{ mdm.loan_class_rank('loans.five_tier_class') }} as five_tier_rank,
        loans.branch_no

    from loans
    left join xrefs
        on xrefs.record_key = loans.owner_record_key

)

select * from linked
