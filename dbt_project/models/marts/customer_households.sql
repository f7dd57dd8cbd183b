{#-
    One row per (customer, other member) of every household of two or more active golden
    customers (int_households_grouped), with what links the two directly:
      address_and_mobile  they share the normalized address and surname, and the mobile
      address             they share the normalized address and surname
      mobile              they share the mobile
      indirect            nothing directly: they are linked through another member
    The reason says what the pair shares; int_households_grouped decides who is a household
    (including its limit on widely shared values), so the two never disagree on membership.
-#}

with

households as (

    select * from {{ ref('int_households_grouped') }}
    where household_size > 1

),

golden_records as (

    select
        golden_id,
        address,
        mobile,
        {{ mdm.surname('name_pinyin') }} as surname

    from {{ ref('stg_mdm__golden_records') }}
    where status = 'active'

),

pairs as (

    select
        households.golden_id,
        members.golden_id as member_golden_id,
        households.household_key,
        households.household_size,
        coalesce(
            customer.address = member.address and customer.surname = member.surname, false
        ) as shares_address,
        coalesce(customer.mobile = member.mobile, false) as shares_mobile

    from households
    inner join households as members
        on members.household_key = households.household_key
        and members.golden_id <> households.golden_id
    inner join golden_records as customer
        on customer.golden_id = households.golden_id
    inner join golden_records as member
        on member.golden_id = members.golden_id

),

final as (

    select
        cast(golden_id as {{ dbt.type_string() }}) as golden_id,
        cast(member_golden_id as {{ dbt.type_string() }}) as member_golden_id,
        cast(household_key as {{ dbt.type_string() }}) as household_key,
        cast(household_size as integer) as household_size,
        cast(
            case
                when shares_address and shares_mobile then 'address_and_mobile'
                when shares_address then 'address'
                when shares_mobile then 'mobile'
                else 'indirect'
            end
            as {{ dbt.type_string() }}
        ) as link_reason

    from pairs

)

select * from final
