{#-
    The stable columns of mdm.scored_pairs. The gamma_<comparison> levels are left out: which
    comparisons exist is configuration (mdm.yaml), and no model here reads them.
-#}

with

source as (

    select * from {{ source('mdm', 'scored_pairs') }}

),

renamed as (

    select
        {{ dbt.concat(['record_key_l', "'|'", 'record_key_r']) }} as pair_key,
        record_key_l,
        record_key_r,
        blocking_rule,
        cast(match_weight as double precision) as match_weight,
        cast(match_probability as double precision) as match_probability,
        zone,
        deterministic_rule

    from source

)

select * from renamed
