{#- Core accounts with the golden customer that owns them and their balance in CNY. -#}

with

accounts as (

    select * from {{ ref('stg_core__accounts') }}

),

core_xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}
    where source_system = 'core'

),

linked as (

    select
        accounts.account_no,
        core_xrefs.golden_id,
        accounts.customer_no,
        accounts.account_type,
        accounts.product_code,
        accounts.currency,
        accounts.balance,
        cast(
            case accounts.currency
                when 'CNY' then accounts.balance
                when 'USD' then accounts.balance * {{ var('usd_cny') }}
            end
            as numeric(18, 2)
        ) as balance_cny,
        accounts.opened_on,
        accounts.maturity_date,
        accounts.branch_no,
        accounts.account_status,
        accounts.account_status = 'ACTIVE' as is_active

    from accounts
    left join core_xrefs
        on core_xrefs.source_record_id = accounts.customer_no

)

select * from linked
