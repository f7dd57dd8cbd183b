{#-
    Service KPIs per ticket creation day, branch, channel and category, up to and including
    var as_of_date. Percentiles use the ordered-set aggregate percentile_cont(...) within group
    (order by ...), which PostgreSQL and DuckDB both implement (continuous interpolation).
-#}

with

tickets as (

    select * from {{ ref('int_tickets_linked') }}
    where created_at is not null
        and created_at < {{ dbt.dateadd('day', 1, mdm.as_of_date()) }}

),

daily as (

    select
        created_on as ticket_date,
        branch_no,
        channel,
        category,
        count(*) as tickets,
        count(first_response_minutes) as responded_tickets,
        avg(first_response_minutes) as first_response_minutes_mean,
        percentile_cont(0.5) within group (order by first_response_minutes) as first_response_minutes_median,
        percentile_cont(0.9) within group (order by first_response_minutes) as first_response_minutes_p90,
        count(resolution_minutes) as resolved_tickets,
        avg(resolution_minutes) as resolution_minutes_mean,
        sum(case when sla_outcome in ('met', 'breached') then 1 else 0 end) as sla_evaluated_tickets,
        sum(case when sla_outcome = 'met' then 1 else 0 end) as sla_met_tickets,
        sum(case when is_complaint then 1 else 0 end) as complaints,
        sum(case when is_complaint and is_resolved then 1 else 0 end) as closed_complaints,
        avg(csat) as avg_csat

    from tickets
    group by created_on, branch_no, channel, category

),

final as (

    select
        cast(
            {{ dbt.concat([
                "cast(ticket_date as " ~ dbt.type_string() ~ ")",
                "'|'", "coalesce(branch_no, '')",
                "'|'", "coalesce(channel, '')",
                "'|'", "coalesce(category, '')",
            ]) }}
            as {{ dbt.type_string() }}
        ) as kpi_key,
        cast(ticket_date as date) as ticket_date,
        cast(branch_no as {{ dbt.type_string() }}) as branch_no,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(tickets as integer) as tickets,
        cast(responded_tickets as integer) as responded_tickets,
        {{ mdm.to_numeric('first_response_minutes_mean', 18, 2) }} as first_response_minutes_mean,
        {{ mdm.to_numeric('first_response_minutes_median', 18, 2) }} as first_response_minutes_median,
        {{ mdm.to_numeric('first_response_minutes_p90', 18, 2) }} as first_response_minutes_p90,
        cast(resolved_tickets as integer) as resolved_tickets,
        {{ mdm.to_numeric('resolution_minutes_mean', 18, 2) }} as resolution_minutes_mean,
        cast(sla_evaluated_tickets as integer) as sla_evaluated_tickets,
        {{ mdm.to_numeric('cast(sla_met_tickets as numeric(18, 6)) / nullif(sla_evaluated_tickets, 0)', 5, 4) }}
            as resolved_within_sla_share,
        cast(complaints as integer) as complaints,
        {{ mdm.to_numeric('cast(closed_complaints as numeric(18, 6)) / nullif(complaints, 0)', 5, 4) }}
            as complaint_closure_rate,
        {{ mdm.to_numeric('avg_csat', 4, 2) }} as avg_csat

    from daily

)

select * from final
