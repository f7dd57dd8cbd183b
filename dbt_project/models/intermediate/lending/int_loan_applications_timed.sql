{#-
    Loan applications of every source with the golden customer of the applicant, the hours from
    submission to each stage reached (pre-review, credit review, approval, disbursement) and
    the decision: approved (APPROVED or DISBURSED), rejected (REJECTED), or undecided
    (SUBMITTED, IN_REVIEW).
-#}

{%- set stages = [
    ('pre_review', 'pre_reviewed_at'),
    ('credit_review', 'credit_reviewed_at'),
    ('approval', 'approved_at'),
    ('disbursement', 'disbursed_at'),
] -%}

with

applications as (

    select * from {{ ref('stg_canonical__loan_applications') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

timed as (

    select
        applications.record_key,
        applications.application_id,
        xrefs.golden_id,
        applications.source_system,
        applications.owner_record_key,
        applications.product,
        applications.branch_no,
        applications.amount,
        applications.application_status,
        applications.submitted_at,
        cast({{ dbt.date_trunc('month', 'applications.submitted_at') }} as date) as application_month,
        {%- for stage, column in stages %}
        cast(
            {{ dbt.datediff('applications.submitted_at', 'applications.' ~ column, 'second') }} / 3600.0
            as numeric(18, 4)
        ) as hours_to_{{ stage }},
        {%- endfor %}
        applications.application_status in ('APPROVED', 'DISBURSED', 'REJECTED') as is_decided,
        applications.application_status in ('APPROVED', 'DISBURSED') as is_approved,
        applications.application_status = 'REJECTED' as is_rejected,
        applications.application_status = 'DISBURSED' as is_disbursed

    from applications
    left join xrefs
        on xrefs.record_key = applications.owner_record_key

)

select * from timed
