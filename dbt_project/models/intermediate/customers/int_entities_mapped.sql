{#-
    One row of flags: which canonical activity entities some source maps. A mart tells "the
    customer has none" (0) from "no source says" (NULL) with it: an unmapped entity's table is
    empty, exactly like a mapped one with no rows for the customer.
-#}

with

coverage as (

    select * from {{ ref('stg_canonical__entity_coverage') }}

),

final as (

    select
        {%- for entity, flag in [
            ('account', 'accounts_mapped'),
            ('loan', 'loans_mapped'),
            ('loan_application', 'loan_applications_mapped'),
            ('service_ticket', 'service_tickets_mapped'),
            ('relationship_manager', 'relationship_managers_mapped'),
        ] %}
        coalesce(max(case when entity = '{{ entity }}' and mapped then 1 else 0 end), 0) = 1
            as {{ flag }}{{ "," if not loop.last }}
        {%- endfor %}

    from coverage

)

select * from final
