{#-
    One row for the run's as-of date: how much the MDM engine took in, how many golden
    customers it made of it, how much is waiting for a steward, and what the latest run did to
    the golden records. The same figures per source are in kpi_mdm_sources (one row each,
    whatever the sources are called).
-#}

{%- set zones = ['auto_match', 'review', 'non_match'] -%}
{%- set event_types = ['create', 'update', 'merge', 'split', 'retire'] -%}

with

party_records as (

    select * from {{ ref('stg_mdm__party_records') }}

),

quarantine as (

    select * from {{ ref('stg_mdm__quarantine') }}

),

golden_records as (

    select * from {{ ref('stg_mdm__golden_records') }}

),

scored_pairs as (

    select * from {{ ref('stg_mdm__scored_pairs') }}

),

golden_events as (

    select * from {{ ref('stg_mdm__golden_events') }}

),

source_summary as (

    select count(*) as source_records

    from party_records

),

quarantine_summary as (

    select
        count(distinct {{ dbt.concat(["coalesce(source_system, '')", "':'", "coalesce(source_record_id, '')"]) }})
            as quarantined_records

    from quarantine

),

golden_summary as (

    select
        sum(case when status = 'active' then 1 else 0 end) as golden_records,
        sum(case when status = 'retired' then 1 else 0 end) as retired_golden_records,
        sum(case when status = 'active' and source_systems like '%,%' then 1 else 0 end)
            as cross_system_golden_records

    from golden_records

),

pair_summary as (

    select
        count(*) as scored_pairs,
        {%- for zone in zones %}
        sum(case when zone = '{{ zone }}' then 1 else 0 end) as {{ zone }}_pairs{{ "," if not loop.last }}
        {%- endfor %}

    from scored_pairs

),

runs as (

    select
        run_id,
        row_number() over (order by max(occurred_at) desc, run_id desc) as recency

    from golden_events
    group by run_id

),

event_summary as (

    select
        max(golden_events.run_id) as run_id,
        count(*) as golden_events,
        {%- for event_type in event_types %}
        sum(case when golden_events.event_type = '{{ event_type }}' then 1 else 0 end)
            as golden_events_{{ event_type }}{{ "," if not loop.last }}
        {%- endfor %}

    from golden_events
    inner join runs
        on runs.run_id = golden_events.run_id
        and runs.recency = 1

),

final as (

    select
        {{ mdm.as_of_date() }} as as_of_date,
        cast(event_summary.run_id as {{ dbt.type_string() }}) as run_id,
        cast(source_summary.source_records as integer) as source_records,
        cast(quarantine_summary.quarantined_records as integer) as quarantined_records,
        cast(coalesce(golden_summary.golden_records, 0) as integer) as golden_records,
        cast(coalesce(golden_summary.retired_golden_records, 0) as integer) as retired_golden_records,
        cast(coalesce(golden_summary.cross_system_golden_records, 0) as integer) as cross_system_golden_records,
        cast(source_summary.source_records - coalesce(golden_summary.golden_records, 0) as integer)
            as duplicates_removed,
        {{ mdm.to_numeric(
            'cast(source_summary.source_records as numeric(18, 6)) / nullif(golden_summary.golden_records, 0)',
            10, 4
        ) }} as records_per_golden_record,
        cast(pair_summary.scored_pairs as integer) as scored_pairs,
        {%- for zone in zones if zone != 'review' %}
        cast(coalesce(pair_summary.{{ zone }}_pairs, 0) as integer) as {{ zone }}_pairs,
        {%- endfor %}
        cast(coalesce(pair_summary.review_pairs, 0) as integer) as review_backlog,
        cast(event_summary.golden_events as integer) as golden_events,
        {%- for event_type in event_types %}
        cast(coalesce(event_summary.golden_events_{{ event_type }}, 0) as integer)
            as golden_events_{{ event_type }}{{ "," if not loop.last }}
        {%- endfor %}

    from source_summary
    cross join quarantine_summary
    cross join golden_summary
    cross join pair_summary
    cross join event_summary

)

select * from final
