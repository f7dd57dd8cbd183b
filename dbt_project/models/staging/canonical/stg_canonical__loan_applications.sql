with

source as (

    select * from {{ source('canonical', 'loan_applications') }}

),

renamed as (

    select
        {{ mdm.canonical_lineage_columns() }},
        cast(application_id as {{ dbt.type_string() }}) as application_id,
        cast(customer_no as {{ dbt.type_string() }}) as customer_no,
        cast(product as {{ dbt.type_string() }}) as product,
        cast(amount as numeric(18, 2)) as amount,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(submitted_at as timestamp) as submitted_at,
        cast(pre_reviewed_at as timestamp) as pre_reviewed_at,
        cast(credit_reviewed_at as timestamp) as credit_reviewed_at,
        cast(approved_at as timestamp) as approved_at,
        cast(disbursed_at as timestamp) as disbursed_at,
        cast(application_status as {{ dbt.type_string() }}) as application_status,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
