{#-
    One row per deposit or wealth account of an active golden customer: the detail behind
    customer_360's balances. Closed accounts are listed too (with their status), since a
    relationship manager asks about them; customer_360 counts only the ACTIVE ones.
-#}

with

golden_records as (

    select golden_id from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

accounts as (

    select * from {{ ref('int_accounts_linked') }}

),

final as (

    select
        cast(accounts.record_key as {{ dbt.type_string() }}) as record_key,
        cast(accounts.golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(accounts.source_system as {{ dbt.type_string() }}) as source_system,
        cast(accounts.account_no as {{ dbt.type_string() }}) as account_no,
        cast(accounts.account_type as {{ dbt.type_string() }}) as account_type,
        cast(accounts.product_code as {{ dbt.type_string() }}) as product_code,
        cast(accounts.currency as {{ dbt.type_string() }}) as currency,
        cast(accounts.balance as numeric(18, 2)) as balance,
        cast(accounts.balance_cny as numeric(18, 2)) as balance_cny,
        cast(accounts.opened_on as date) as opened_on,
        cast(accounts.maturity_date as date) as maturity_date,
        cast(accounts.account_status as {{ dbt.type_string() }}) as account_status,
        accounts.is_active,
        cast(accounts.branch_no as {{ dbt.type_string() }}) as branch_no,
        {{ mdm.as_of_date() }} as as_of_date

    from accounts
    inner join golden_records
        on golden_records.golden_id = accounts.golden_id

)

select * from final
