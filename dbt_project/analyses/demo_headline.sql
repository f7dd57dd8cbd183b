-- Headline figures for the demo summary, one row; plain SQL that runs unchanged on DuckDB
-- and PostgreSQL against a built warehouse (no Jinja: `dbt compile` leaves it as is).
-- The median first response is taken over the tickets themselves (the intermediate view
-- int_tickets_linked): a median cannot be rolled up from kpi_service_daily's daily medians.
-- Tickets count up to the end of the marts' as-of date, as in kpi_service_daily.
with

customers as (

    select
        count(*) as customers,
        sum(total_aum) as total_aum_cny,
        max(as_of_date) as as_of_date

    from marts.customer_360

),

first_responses as (

    select
        percentile_cont(0.5) within group (order by tickets.first_response_minutes)
            as median_first_response_minutes

    from intermediate.int_tickets_linked as tickets
    cross join customers
    where tickets.created_at < customers.as_of_date + 1

),

tasks as (

    select
        count(*) as open_tasks,
        sum(case when task_type = 'maturity_followup' then 1 else 0 end) as maturity_followup_tasks,
        sum(case when task_type = 'complaint_escalation' then 1 else 0 end) as complaint_escalation_tasks,
        sum(case when task_type = 'vip_contact' then 1 else 0 end) as vip_contact_tasks

    from marts.rm_tasks

)

select
    customers.as_of_date,
    cast(customers.customers as integer) as customers,
    cast(customers.total_aum_cny as numeric(18, 2)) as total_aum_cny,
    -- via 6 decimals: PostgreSQL's percentile_cont returns a double (see macro to_numeric)
    cast(cast(first_responses.median_first_response_minutes as numeric(22, 6)) as numeric(18, 2))
        as median_first_response_minutes,
    cast(tasks.open_tasks as integer) as open_tasks,
    cast(coalesce(tasks.maturity_followup_tasks, 0) as integer) as maturity_followup_tasks,
    cast(coalesce(tasks.complaint_escalation_tasks, 0) as integer) as complaint_escalation_tasks,
    cast(coalesce(tasks.vip_contact_tasks, 0) as integer) as vip_contact_tasks

from customers
cross join first_responses
cross join tasks
