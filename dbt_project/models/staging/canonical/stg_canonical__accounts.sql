with

source as (

    select * from {{ source('canonical', 'accounts') }}

),

renamed as (

    select
        {{ mdm.canonical_lineage_columns() }},
        cast(account_no as {{ dbt.type_string() }}) as account_no,
        cast(customer_no as {{ dbt.type_string() }}) as customer_no,
        cast(account_type as {{ dbt.type_string() }}) as account_type,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(balance as numeric(18, 2)) as balance,
        cast(opened_on as date) as opened_on,
        cast(maturity_date as date) as maturity_date,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(account_status as {{ dbt.type_string() }}) as account_status,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
