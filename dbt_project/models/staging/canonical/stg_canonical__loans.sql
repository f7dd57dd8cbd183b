with

source as (

    select * from {{ source('canonical', 'loans') }}

),

renamed as (

    select
        {{ mdm.canonical_lineage_columns() }},
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(customer_no as {{ dbt.type_string() }}) as customer_no,
        cast(application_id as {{ dbt.type_string() }}) as application_id,
        cast(principal as numeric(18, 2)) as principal,
        cast(outstanding as numeric(18, 2)) as outstanding,
        cast(interest_rate as numeric(9, 6)) as interest_rate,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(five_tier_class as {{ dbt.type_string() }}) as five_tier_class,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
