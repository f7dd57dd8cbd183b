{#-
    Loan-cycle KPIs per application month, product and branch, for applications submitted up
    to the end of var as_of_date: counts, approval rate and the hours from submission to each
    stage (mean and continuous median over the applications that reached it).
-#}

{%- set stages = ['pre_review', 'credit_review', 'approval', 'disbursement'] -%}

with

applications as (

    select * from {{ ref('int_loan_applications_timed') }}
    where submitted_at is not null
        and submitted_at < {{ dbt.dateadd('day', 1, mdm.as_of_date()) }}

),

monthly as (

    select
        application_month,
        product,
        branch_no,
        count(*) as applications,
        sum(case when is_decided then 1 else 0 end) as decided_applications,
        sum(case when is_approved then 1 else 0 end) as approved_applications,
        sum(case when is_rejected then 1 else 0 end) as rejected_applications,
        sum(case when is_disbursed then 1 else 0 end) as disbursed_applications,
        sum(amount) as requested_amount,
        {%- for stage in stages %}
        avg(hours_to_{{ stage }}) as hours_to_{{ stage }}_mean,
        percentile_cont(0.5) within group (order by hours_to_{{ stage }}) as hours_to_{{ stage }}_median{{ "," if not loop.last }}
        {%- endfor %}

    from applications
    group by application_month, product, branch_no

),

final as (

    select
        cast(
            {{ dbt.concat([
                "cast(application_month as " ~ dbt.type_string() ~ ")",
                "'|'", "coalesce(product, '')",
                "'|'", "coalesce(branch_no, '')",
            ]) }}
            as {{ dbt.type_string() }}
        ) as kpi_key,
        cast(application_month as date) as application_month,
        cast(product as {{ dbt.type_string() }}) as product,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(applications as integer) as applications,
        cast(decided_applications as integer) as decided_applications,
        cast(approved_applications as integer) as approved_applications,
        cast(rejected_applications as integer) as rejected_applications,
        cast(disbursed_applications as integer) as disbursed_applications,
        {{ mdm.to_numeric('cast(approved_applications as numeric(18, 6)) / nullif(decided_applications, 0)', 5, 4) }}
            as approval_rate,
        cast(requested_amount as numeric(18, 2)) as requested_amount,
        {%- for stage in stages %}
        {{ mdm.to_numeric('hours_to_' ~ stage ~ '_mean', 18, 2) }} as hours_to_{{ stage }}_mean,
        {{ mdm.to_numeric('hours_to_' ~ stage ~ '_median', 18, 2) }} as hours_to_{{ stage }}_median,
        {%- endfor %}
        {{ mdm.as_of_date() }} as as_of_date

    from monthly

)

select * from final
