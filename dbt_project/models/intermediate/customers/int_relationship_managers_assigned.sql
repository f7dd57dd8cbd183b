{#-
    One row per golden customer whose party records name a relationship manager: that
    manager, from the most trusted source (source_trust 1 first), then the most recently
    updated record, then the smallest record_key. Records naming no manager take no part, so
    a customer whose trusted record is silent keeps the manager a less trusted one names.
-#}

with

party_records as (

    select * from {{ ref('stg_mdm__party_records') }}
    where relationship_manager_id is not null

),

xrefs as (

    select * from {{ ref('stg_mdm__xrefs') }}

),

relationship_managers as (

    select * from {{ ref('int_relationship_managers_deduplicated') }}

),

ranked as (

    select
        xrefs.golden_id,
        party_records.record_key,
        party_records.relationship_manager_id,
        row_number() over (
            partition by xrefs.golden_id
            order by
                party_records.source_trust asc nulls last,
                party_records.source_updated_at desc nulls last,
                party_records.record_key
        ) as preference

    from party_records
    inner join xrefs
        on xrefs.record_key = party_records.record_key

),

assigned as (

    select
        ranked.golden_id,
        ranked.record_key,
        ranked.relationship_manager_id,
        relationship_managers.relationship_manager_name,
        relationship_managers.branch_no as relationship_manager_branch_no

    from ranked
    left join relationship_managers
        on relationship_managers.relationship_manager_id = ranked.relationship_manager_id
    where ranked.preference = 1

)

select * from assigned
