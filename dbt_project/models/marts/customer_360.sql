{#-
    One row per active golden customer: the golden attributes, holdings, loans and the risk
    rating derived from them, relationship manager and branch, service history, household and
    value tier. Amounts in CNY (USD at var usd_cny), measured as of var as_of_date.

    Activity comes from the canonical tables, whichever sources map them. An entity no
    source maps leaves its columns NULL (unknown), not 0: holdings, value_tier and AUM without
    accounts; loans and risk_rating without loans; ticket counts without service tickets.

    risk_rating, from the loans (first rule that holds):
      none    no loans
      high    a loan classed 次级, 可疑 or 损失 (non-performing under the five-tier rules)
      medium  a loan classed 关注 (special mention), or loan_outstanding above
              var risk_outstanding_to_aum_ratio (3) times total_aum (when accounts are mapped)
      low     every loan 正常 and loan_outstanding within that multiple of total_aum
-#}

with

golden_records as (

    select * from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

accounts as (

    select * from {{ ref('int_accounts_linked') }}
    where is_active and golden_id is not null

),

loans as (

    select * from {{ ref('int_loans_linked') }}
    where golden_id is not null

),

tickets as (

    select * from {{ ref('int_tickets_linked') }}
    where golden_id is not null
        and created_at < {{ dbt.dateadd('day', 1, mdm.as_of_date()) }}

),

assignments as (

    select * from {{ ref('int_relationship_managers_assigned') }}

),

branches as (

    select * from {{ ref('int_branches_assigned') }}

),

households as (

    select * from {{ ref('int_households_grouped') }}

),

entities as (

    select * from {{ ref('int_entities_mapped') }}

),

account_summary as (

    select
        golden_id,
        sum(case when account_type = 'DEMAND' then balance_cny else 0 end) as demand_balance,
        sum(case when account_type = 'TIME' then balance_cny else 0 end) as time_deposit_balance,
        sum(case when account_type = 'WEALTH' then balance_cny else 0 end) as wealth_balance,
        min(
            case when maturity_date >= {{ mdm.as_of_date() }} then maturity_date end
        ) as nearest_maturity_date,
        count(*) as account_count

    from accounts
    group by golden_id

),

loan_summary as (

    select
        golden_id,
        count(*) as loan_count,
        sum(outstanding) as loan_outstanding,
        max(five_tier_rank) as worst_five_tier_rank

    from loans
    group by golden_id

),

ticket_summary as (

    select
        golden_id,
        sum(
            case
                when created_at >= {{ dbt.dateadd('day', -89, mdm.as_of_date()) }} then 1
                else 0
            end
        ) as tickets_last_90d,
        sum(case when is_complaint and not is_resolved then 1 else 0 end) as open_complaints,
        max(created_at) as last_contact_at,
        avg(csat) as avg_csat

    from tickets
    group by golden_id

),

joined as (

    select
        golden_records.golden_id,
        golden_records.name,
        golden_records.name_pinyin,
        golden_records.gender,
        golden_records.birth_date,
        golden_records.id_type,
        golden_records.id_number,
        golden_records.mobile,
        golden_records.email,
        golden_records.address,
        golden_records.province,
        golden_records.city,
        golden_records.district,
        golden_records.adcode,
        golden_records.source_count,
        golden_records.source_systems,
        case when entities.accounts_mapped then coalesce(account_summary.demand_balance, 0) end
            as demand_balance,
        case when entities.accounts_mapped then coalesce(account_summary.time_deposit_balance, 0) end
            as time_deposit_balance,
        case when entities.accounts_mapped then coalesce(account_summary.wealth_balance, 0) end
            as wealth_balance,
        case
            when entities.accounts_mapped then
                coalesce(account_summary.demand_balance, 0)
                + coalesce(account_summary.time_deposit_balance, 0)
                + coalesce(account_summary.wealth_balance, 0)
        end as total_aum,
        account_summary.nearest_maturity_date,
        case when entities.accounts_mapped then coalesce(account_summary.account_count, 0) end
            as account_count,
        case when entities.loans_mapped then coalesce(loan_summary.loan_count, 0) end as loan_count,
        case when entities.loans_mapped then coalesce(loan_summary.loan_outstanding, 0) end
            as loan_outstanding,
        loan_summary.worst_five_tier_rank,
        {{ mdm.loan_class_label('loan_summary.worst_five_tier_rank') }} as worst_loan_class,
        assignments.relationship_manager_id,
        assignments.relationship_manager_name,
        branches.branch_no,
        coalesce(households.household_key, golden_records.golden_id) as household_key,
        coalesce(households.household_size, 1) as household_size,
        case when entities.service_tickets_mapped then coalesce(ticket_summary.tickets_last_90d, 0) end
            as tickets_last_90d,
        case when entities.service_tickets_mapped then coalesce(ticket_summary.open_complaints, 0) end
            as open_complaints,
        ticket_summary.last_contact_at,
        ticket_summary.avg_csat

    from golden_records
    cross join entities
    left join account_summary
        on account_summary.golden_id = golden_records.golden_id
    left join loan_summary
        on loan_summary.golden_id = golden_records.golden_id
    left join ticket_summary
        on ticket_summary.golden_id = golden_records.golden_id
    left join assignments
        on assignments.golden_id = golden_records.golden_id
    left join branches
        on branches.golden_id = golden_records.golden_id
    left join households
        on households.golden_id = golden_records.golden_id

),

final as (

    select
        cast(golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(name_pinyin as {{ dbt.type_string() }}) as name_pinyin,
        cast(gender as {{ dbt.type_string() }}) as gender,
        cast(birth_date as date) as birth_date,
        cast(id_type as {{ dbt.type_string() }}) as id_type,
        cast(id_number as {{ dbt.type_string() }}) as id_number,
        cast(mobile as {{ dbt.type_string() }}) as mobile,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(address as {{ dbt.type_string() }}) as address,
        cast(province as {{ dbt.type_string() }}) as province,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(district as {{ dbt.type_string() }}) as district,
        cast(adcode as {{ dbt.type_string() }}) as adcode,
        cast(source_count as integer) as source_count,
        cast(source_systems as {{ dbt.type_string() }}) as source_systems,
        cast(demand_balance as numeric(18, 2)) as demand_balance,
        cast(time_deposit_balance as numeric(18, 2)) as time_deposit_balance,
        cast(wealth_balance as numeric(18, 2)) as wealth_balance,
        cast(total_aum as numeric(18, 2)) as total_aum,
        cast(nearest_maturity_date as date) as nearest_maturity_date,
        cast(account_count as integer) as account_count,
        cast(loan_count as integer) as loan_count,
        cast(loan_outstanding as numeric(18, 2)) as loan_outstanding,
        cast(worst_loan_class as {{ dbt.type_string() }}) as worst_loan_class,
        {{ mdm.to_numeric('cast(loan_outstanding as numeric(18, 6)) / nullif(total_aum, 0)', 18, 4) }}
            as loan_to_aum_ratio,
        cast(
            case
                when loan_count is null then null
                when loan_count = 0 then 'none'
                when worst_five_tier_rank >= 3 then 'high'
                when worst_five_tier_rank = 2 then 'medium'
                when loan_outstanding > {{ var('risk_outstanding_to_aum_ratio') }} * total_aum then 'medium'
                else 'low'
            end
            as {{ dbt.type_string() }}
        ) as risk_rating,
        cast(relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(relationship_manager_name as {{ dbt.type_string() }}) as relationship_manager_name,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(tickets_last_90d as integer) as tickets_last_90d,
        cast(open_complaints as integer) as open_complaints,
        cast(last_contact_at as timestamp) as last_contact_at,
        {{ mdm.to_numeric('avg_csat', 4, 2) }} as avg_csat,
        cast(household_key as {{ dbt.type_string() }}) as household_key,
        cast(household_size as integer) as household_size,
        cast(
            case
                when total_aum is null then null
                when total_aum >= {{ var('vip_aum_threshold') }} then 'VIP'
                when total_aum >= {{ var('priority_aum_threshold') }} then 'priority'
                else 'standard'
            end
            as {{ dbt.type_string() }}
        ) as value_tier,
        {{ mdm.as_of_date() }} as as_of_date

    from joined

)

select * from final
