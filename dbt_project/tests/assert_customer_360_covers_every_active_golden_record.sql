-- Every active golden record has its customer_360 row (returns the ones missing).
select golden_id
from {{ ref('stg_mdm__golden_records') }}
where status = 'active'

except

select golden_id
from {{ ref('customer_360') }}
