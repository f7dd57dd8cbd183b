{#-
    kpi_mdm per source: one row per source system the run saw (in mdm.party_records,
    mdm.quarantine or a canonical activity table), named as in mdm.yaml. Nothing here knows
    which sources a bank has.
-#}

{%- set activity = [
    ('accounts', 'int_accounts_linked'),
    ('loans', 'int_loans_linked'),
    ('loan_applications', 'int_loan_applications_timed'),
    ('service_tickets', 'int_tickets_linked'),
] -%}

with

party_records as (

    select * from {{ ref('stg_mdm__party_records') }}

),

quarantine as (

    select * from {{ ref('stg_mdm__quarantine') }}

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

golden_records as (

    select * from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

relationship_managers as (

    select * from {{ ref('stg_canonical__relationship_managers') }}

),

activity_rows as (

    {%- for name, model in activity %}
    select source_system, '{{ name }}' as entity_table, golden_id
    from {{ ref(model) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

systems as (

    select source_system from party_records
    union
    select source_system from quarantine
    union
    select source_system from activity_rows
    union
    select source_system from relationship_managers

),

party_summary as (

    select
        source_system,
        min(source_trust) as source_trust,
        count(*) as source_records

    from party_records
    group by source_system

),

quarantine_summary as (

    select
        source_system,
        count(distinct coalesce(source_record_id, '')) as quarantined_records

    from quarantine
    group by source_system

),

golden_summary as (

    select
        xrefs.source_system,
        count(distinct golden_records.golden_id) as golden_records,
        count(
            distinct case
                when golden_records.source_systems = xrefs.source_system then golden_records.golden_id
            end
        ) as exclusive_golden_records

    from xrefs
    inner join golden_records
        on golden_records.golden_id = xrefs.golden_id
    group by xrefs.source_system

),

activity_summary as (

    select
        source_system,
        {%- for name, _ in activity %}
        sum(case when entity_table = '{{ name }}' then 1 else 0 end) as {{ name }},
        {%- endfor %}
        sum(case when golden_id is null then 1 else 0 end) as unlinked_activity_rows

    from activity_rows
    group by source_system

),

manager_summary as (

    select
        source_system,
        count(*) as relationship_managers

    from relationship_managers
    group by source_system

),

final as (

    select
        {{ mdm.as_of_date() }} as as_of_date,
        cast(systems.source_system as {{ dbt.type_string() }}) as source_system,
        cast(party_summary.source_trust as integer) as source_trust,
        cast(coalesce(party_summary.source_records, 0) as integer) as source_records,
        cast(coalesce(quarantine_summary.quarantined_records, 0) as integer) as quarantined_records,
        cast(coalesce(golden_summary.golden_records, 0) as integer) as golden_records,
        cast(coalesce(golden_summary.exclusive_golden_records, 0) as integer) as exclusive_golden_records,
        {%- for name, _ in activity %}
        cast(coalesce(activity_summary.{{ name }}, 0) as integer) as {{ name }},
        {%- endfor %}
        cast(coalesce(manager_summary.relationship_managers, 0) as integer) as relationship_managers,
        cast(coalesce(activity_summary.unlinked_activity_rows, 0) as integer) as unlinked_activity_rows

    from systems
    left join party_summary
        on party_summary.source_system = systems.source_system
    left join quarantine_summary
        on quarantine_summary.source_system = systems.source_system
    left join golden_summary
        on golden_summary.source_system = systems.source_system
    left join activity_summary
        on activity_summary.source_system = systems.source_system
    left join manager_summary
        on manager_summary.source_system = systems.source_system

)

select * from final
