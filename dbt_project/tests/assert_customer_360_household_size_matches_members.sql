-- household_size must equal the number of customer_360 rows sharing the household_key, and
-- the key must be the smallest golden ID among them (returns the households that disagree).
select
    household_key,
    count(*) as members,
    min(household_size) as smallest_size,
    max(household_size) as largest_size,
    min(golden_id) as smallest_golden_id

from {{ ref('customer_360') }}
group by household_key
having count(*) <> min(household_size)
    or min(household_size) <> max(household_size)
    or min(golden_id) <> household_key
