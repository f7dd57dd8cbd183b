{#-
    Households of active golden customers. Two customers are linked when they share the
    normalized address and the surname, or the mobile; a household is a connected group of
    links (A shares an address with B, B a mobile with C: A, B and C are one household).
    The surname is the first word of the golden name's pinyin (compound surnames come joined,
    `ouyang`; latin-script names are in pinyin too).

    Each shared value links its holders to the group's smallest golden ID (a star, not every
    pair), and a value shared by more than var household_max_size customers is ignored. The
    groups are then closed transitively with a recursive CTE (UNION, so it ends on cycles);
    both PostgreSQL and DuckDB run it.
-#}

with recursive

golden_records as (

    select
        golden_id,
        address,
        mobile,
        {{ mdm.surname('name_pinyin') }} as surname

    from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

address_groups as (

    select
        address,
        surname,
        min(golden_id) as anchor_id

    from golden_records
    where address is not null and surname is not null
    group by address, surname
    having count(*) between 2 and {{ var('household_max_size') }}

),

mobile_groups as (

    select
        mobile,
        min(golden_id) as anchor_id

    from golden_records
    where mobile is not null
    group by mobile
    having count(*) between 2 and {{ var('household_max_size') }}

),

links_to_anchor as (

    select
        golden_records.golden_id,
        address_groups.anchor_id

    from golden_records
    inner join address_groups
        on address_groups.address = golden_records.address
        and address_groups.surname = golden_records.surname

    union all

    select
        golden_records.golden_id,
        mobile_groups.anchor_id

    from golden_records
    inner join mobile_groups
        on mobile_groups.mobile = golden_records.mobile

),

links as (

    select golden_id, anchor_id as linked_id
    from links_to_anchor
    where golden_id <> anchor_id

    union

    select anchor_id as golden_id, golden_id as linked_id
    from links_to_anchor
    where golden_id <> anchor_id

),

reachable (golden_id, member_id) as (

    select golden_id, golden_id as member_id
    from golden_records

    union

    select
        reachable.golden_id,
        links.linked_id as member_id

    from reachable
    inner join links
        on links.golden_id = reachable.member_id

),

final as (

    select
        golden_id,
        min(member_id) as household_key,
        count(*) as household_size

    from reachable
    group by golden_id

)

select * from final
