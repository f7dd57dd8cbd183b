{#-
    One row per loan of an active golden customer: the detail behind customer_360's loan
    count, outstanding and worst class.

    The canonical loan carries no status of its own, so loan_status is read from the
    balance and the end date, as of var as_of_date (first rule that holds):
      repaid   nothing outstanding
      overdue  still outstanding after its end date (before as_of_date)
      current  otherwise (outstanding, end date ahead or unknown)
-#}

with

golden_records as (

    select golden_id from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

loans as (

    select * from {{ ref('int_loans_linked') }}

),

final as (

    select
        cast(loans.record_key as {{ dbt.type_string() }}) as record_key,
        cast(loans.golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(loans.source_system as {{ dbt.type_string() }}) as source_system,
        cast(loans.loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(loans.application_id as {{ dbt.type_string() }}) as application_id,
        cast(loans.principal as numeric(18, 2)) as principal,
        cast(loans.outstanding as numeric(18, 2)) as outstanding,
        cast(loans.interest_rate as numeric(9, 6)) as interest_rate,
        cast(loans.start_date as date) as start_date,
        cast(loans.end_date as date) as end_date,
        cast(loans.five_tier_class as {{ dbt.type_string() }}) as five_tier_class,
        cast(loans.five_tier_rank as integer) as five_tier_rank,
        cast(
            case
                when loans.outstanding = 0 then 'repaid'
                when loans.end_date < {{ mdm.as_of_date() }} then 'overdue'
                else 'current'
            end
            as {{ dbt.type_string() }}
        ) as loan_status,
        cast(loans.branch_no as {{ dbt.type_string() }}) as branch_no,
        {{ mdm.as_of_date() }} as as_of_date

    from loans
    inner join golden_records
        on golden_records.golden_id = loans.golden_id

)

select * from final
