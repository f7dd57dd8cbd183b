-- total_aum must equal demand + time deposit + wealth balances (returns the rows that do not).
select
    golden_id,
    total_aum,
    demand_balance,
    time_deposit_balance,
    wealth_balance

from {{ ref('customer_360') }}
where total_aum <> demand_balance + time_deposit_balance + wealth_balance
