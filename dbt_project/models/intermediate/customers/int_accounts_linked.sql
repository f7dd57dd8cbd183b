{#- Accounts of every source with the golden customer that owns them and their balance in CNY. -#}

with

accounts as (

    select * from {{ ref('stg_canonical__accounts') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

linked as (

    select
        accounts.record_key,
        accounts.account_no,
        xrefs.golden_id,
        accounts.source_system,
        accounts.owner_record_key,
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
        -- a source that maps no status exports open accounts only
        coalesce(accounts.account_status, 'ACTIVE') = 'ACTIVE' as is_active

    from accounts
    left join xrefs
        on xrefs.record_key = accounts.owner_record_key

)

select * from linked
