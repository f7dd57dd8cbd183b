{#- Credit loans with the golden customer of their borrower and the rank of their five-tier class. -#}

with

loans as (

    select * from {{ ref('stg_credit__loans') }}

),

credit_xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}
    where source_system = 'credit'

),

linked as (

    select
        loans.loan_id,
        credit_xrefs.golden_id,
        loans.borrower_id,
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
    left join credit_xrefs
        on credit_xrefs.source_record_id = loans.borrower_id

)

select * from linked
