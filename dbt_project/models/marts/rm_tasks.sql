{#-
    The follow-up tasks the data implies for each relationship manager as of var as_of_date.
    The cut-off is the end of the business date (as_of_date + 1 day, 00:00), as for the SLA.

    maturity_followup     an ACTIVE TIME or WEALTH account maturing from as_of_date through
                          as_of_date + var maturity_followup_days (3): contact the customer
                          about renewal or reinvestment. Due the day before maturity (not
                          before as_of_date). high when it matures by as_of_date + 1 day or
                          holds at least var vip_aum_threshold CNY, else medium.
    complaint_escalation  a complaint with no first response and no resolution var
                          complaint_first_response_hours (24) after creation: escalated to the
                          branch manager. Due on as_of_date, always high. The manager is the
                          ticket's, else the customer's; the branch the ticket's, else the
                          customer's.
    vip_contact           a VIP customer (customer_360.value_tier) with no contact (service
                          ticket) in the var vip_contact_gap_days (90) days ending on
                          as_of_date. Due var vip_contact_due_days (7) after as_of_date. medium
                          when never contacted or not for twice the gap (180 days), else low.
                          Only when some source maps service tickets: without them every VIP
                          would look never contacted.

    A customer without a relationship manager gets its tasks with a NULL manager, assigned to
    its branch (customer_360.branch_no; for an account or ticket of a source record without a
    golden ID, the account's or ticket's branch). task_id is the md5 of the task's natural key
    (type and account + maturity date, ticket, or customer + last contact day), so the same
    task keeps its ID from one run to the next while its cause persists. Accounts and tickets
    are keyed by their record_key (`<source>:<key>`): two sources may use the same numbers.
-#}

{%- set cut_off = dbt.dateadd('day', 1, mdm.as_of_date()) -%}

with

customers as (

    select * from {{ ref('customer_360') }}

),

accounts as (

    select * from {{ ref('int_accounts_linked') }}

),

tickets as (

    select * from {{ ref('int_tickets_linked') }}

),

relationship_managers as (

    select * from {{ ref('int_relationship_managers_deduplicated') }}

),

entities as (

    select * from {{ ref('int_entities_mapped') }}

),

maturity_followups as (

    select
        'maturity_followup' as task_type,
        {{ dbt.concat(["'maturity_followup|'", 'accounts.record_key', "'|'", 'cast(accounts.maturity_date as ' ~ dbt.type_string() ~ ')']) }} as task_key,
        customers.relationship_manager_id,
        coalesce(customers.branch_no, accounts.branch_no) as branch_no,
        cast(null as {{ dbt.type_string() }}) as escalate_to,
        accounts.golden_id,
        accounts.account_no,
        accounts.product_code,
        accounts.maturity_date,
        accounts.balance_cny as amount_cny,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        cast(null as timestamp) as ticket_created_at,
        cast(null as timestamp) as last_contact_at,
        greatest(
            {{ mdm.as_of_date() }},
            cast({{ dbt.dateadd('day', -1, 'accounts.maturity_date') }} as date)
        ) as due_date,
        case
            when accounts.maturity_date <= cast({{ dbt.dateadd('day', 1, mdm.as_of_date()) }} as date)
                or accounts.balance_cny >= {{ var('vip_aum_threshold') }}
                then 'high'
            else 'medium'
        end as priority,
        {{ dbt.concat([
            "coalesce(accounts.account_type, 'account')", "' '",
            'coalesce(accounts.product_code, accounts.account_no)',
            "' matures on '", 'cast(accounts.maturity_date as ' ~ dbt.type_string() ~ ')',
            "' ('", "coalesce(cast(accounts.balance_cny as " ~ dbt.type_string() ~ "), 'unknown')",
            "' CNY): contact customer about renewal or reinvestment'",
        ]) }} as reason

    from accounts
    left join customers
        on customers.golden_id = accounts.golden_id
    where accounts.is_active
        and accounts.account_type in ('TIME', 'WEALTH')
        and accounts.maturity_date >= {{ mdm.as_of_date() }}
        and accounts.maturity_date <= cast({{ dbt.dateadd('day', var('maturity_followup_days'), mdm.as_of_date()) }} as date)

),

complaint_escalations as (

    select
        'complaint_escalation' as task_type,
        {{ dbt.concat(["'complaint_escalation|'", 'tickets.record_key']) }} as task_key,
        coalesce(tickets.relationship_manager_id, customers.relationship_manager_id) as relationship_manager_id,
        coalesce(tickets.branch_no, customers.branch_no) as branch_no,
        'branch_manager' as escalate_to,
        tickets.golden_id,
        cast(null as {{ dbt.type_string() }}) as account_no,
        cast(null as {{ dbt.type_string() }}) as product_code,
        cast(null as date) as maturity_date,
        cast(null as numeric(18, 2)) as amount_cny,
        tickets.ticket_id,
        tickets.created_at as ticket_created_at,
        cast(null as timestamp) as last_contact_at,
        {{ mdm.as_of_date() }} as due_date,
        'high' as priority,
        {{ dbt.concat([
            "'complaint '", 'tickets.ticket_id',
            "' opened '", 'cast(tickets.created_at as ' ~ dbt.type_string() ~ ')',
            "' has no first response after " ~ var('complaint_first_response_hours') ~ " hours: escalated to the branch manager'",
        ]) }} as reason

    from tickets
    left join customers
        on customers.golden_id = tickets.golden_id
    where tickets.is_complaint
        and tickets.created_at < {{ cut_off }}
        and {{ dbt.dateadd('hour', var('complaint_first_response_hours'), 'tickets.created_at') }} <= {{ cut_off }}
        and (tickets.first_response_at is null or tickets.first_response_at >= {{ cut_off }})
        and (tickets.resolved_at is null or tickets.resolved_at >= {{ cut_off }})

),

vip_contacts as (

    select
        'vip_contact' as task_type,
        {{ dbt.concat([
            "'vip_contact|'", 'customers.golden_id', "'|'",
            "coalesce(cast(cast(customers.last_contact_at as date) as " ~ dbt.type_string() ~ "), 'never')",
        ]) }} as task_key,
        customers.relationship_manager_id,
        customers.branch_no,
        cast(null as {{ dbt.type_string() }}) as escalate_to,
        customers.golden_id,
        cast(null as {{ dbt.type_string() }}) as account_no,
        cast(null as {{ dbt.type_string() }}) as product_code,
        cast(null as date) as maturity_date,
        cast(null as numeric(18, 2)) as amount_cny,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        cast(null as timestamp) as ticket_created_at,
        customers.last_contact_at,
        cast({{ dbt.dateadd('day', var('vip_contact_due_days'), mdm.as_of_date()) }} as date) as due_date,
        case
            when customers.last_contact_at is null
                or customers.last_contact_at < {{ dbt.dateadd('day', 1 - 2 * var('vip_contact_gap_days'), mdm.as_of_date()) }}
                then 'medium'
            else 'low'
        end as priority,
        {{ dbt.concat([
            "'VIP customer (AUM '", 'cast(customers.total_aum as ' ~ dbt.type_string() ~ ')',
            "' CNY) not contacted in " ~ var('vip_contact_gap_days') ~ " days, last contact: '",
            "coalesce(cast(cast(customers.last_contact_at as date) as " ~ dbt.type_string() ~ "), 'never')",
        ]) }} as reason

    from customers
    cross join entities
    where entities.service_tickets_mapped
        and customers.value_tier = 'VIP'
        and (
            customers.last_contact_at is null
            or customers.last_contact_at < {{ dbt.dateadd('day', 1 - var('vip_contact_gap_days'), mdm.as_of_date()) }}
        )

),

tasks as (

    select * from maturity_followups
    union all
    select * from complaint_escalations
    union all
    select * from vip_contacts

),

final as (

    select
        cast({{ dbt.hash('tasks.task_key') }} as {{ dbt.type_string() }}) as task_id,
        cast(tasks.task_type as {{ dbt.type_string() }}) as task_type,
        cast(tasks.relationship_manager_id as {{ dbt.type_string() }}) as relationship_manager_id,
        cast(relationship_managers.relationship_manager_name as {{ dbt.type_string() }}) as relationship_manager_name,
        cast(tasks.branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(tasks.escalate_to as {{ dbt.type_string() }}) as escalate_to,
        cast(tasks.golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(tasks.account_no as {{ dbt.type_string() }}) as account_no,
        cast(tasks.product_code as {{ dbt.type_string() }}) as product_code,
        cast(tasks.maturity_date as date) as maturity_date,
        cast(tasks.amount_cny as numeric(18, 2)) as amount_cny,
        cast(tasks.ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(tasks.ticket_created_at as timestamp) as ticket_created_at,
        cast(tasks.last_contact_at as timestamp) as last_contact_at,
        cast(tasks.due_date as date) as due_date,
        cast(tasks.priority as {{ dbt.type_string() }}) as priority,
        cast(tasks.reason as {{ dbt.type_string() }}) as reason,
        {{ mdm.as_of_date() }} as as_of_date

    from tasks
    left join relationship_managers
        on relationship_managers.relationship_manager_id = tasks.relationship_manager_id

)

select * from final
