{#-
    Service tickets of every source with their golden customer, elapsed minutes and SLA outcome.

    A ticket is resolved when its status says so; where the status is unknown (not mapped, or
    a code the source's list does not map) when it has a resolution time.

    SLA: a ticket must be resolved within var complaint_sla_hours (48 h) of creation when it is
    a complaint (category = complaint), var default_sla_hours (24 h) otherwise. Outcome, judged at the end of the
    business date (as_of_date + 1 day, 00:00):
      met      resolved at or before the deadline
      breached resolved after the deadline, or unresolved with the deadline passed
      pending  unresolved and the deadline still ahead (not counted either way)
-#}

with

tickets as (

    select * from {{ ref('stg_canonical__service_tickets') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

linked as (

    select
        tickets.record_key,
        tickets.ticket_id,
        xrefs.golden_id,
        tickets.source_system,
        tickets.owner_record_key,
        tickets.channel,
        tickets.category,
        tickets.ticket_status,
        coalesce(tickets.category = 'complaint', false) as is_complaint,
        case
            when tickets.ticket_status is not null and tickets.ticket_status <> 'other'
                then tickets.ticket_status = 'resolved'
            else tickets.resolved_at is not null
        end as is_resolved,
        tickets.created_at,
        cast(tickets.created_at as date) as created_on,
        tickets.first_response_at,
        tickets.resolved_at,
        tickets.csat,
        tickets.relationship_manager_id,
        tickets.branch_no,
        case
            when tickets.category = 'complaint' then {{ var('complaint_sla_hours') }}
            else {{ var('default_sla_hours') }}
        end as sla_hours

    from tickets
    left join xrefs
        on xrefs.record_key = tickets.owner_record_key

),

measured as (

    select
        linked.*,
        cast(
            {{ dbt.datediff('linked.created_at', 'linked.first_response_at', 'second') }} / 60.0
            as numeric(18, 4)
        ) as first_response_minutes,
        cast(
            {{ dbt.datediff('linked.created_at', 'linked.resolved_at', 'second') }} / 60.0
            as numeric(18, 4)
        ) as resolution_minutes,
        cast({{ dbt.dateadd('hour', 'linked.sla_hours', 'linked.created_at') }} as timestamp) as sla_due_at

    from linked

),

final as (

    select
        measured.*,
        case
            when measured.created_at is null then null
            when measured.resolved_at is not null and measured.resolved_at <= measured.sla_due_at then 'met'
            when measured.resolved_at is not null then 'breached'
            when measured.sla_due_at <= {{ dbt.dateadd('day', 1, mdm.as_of_date()) }} then 'breached'
            else 'pending'
        end as sla_outcome

    from measured

)

select * from final
