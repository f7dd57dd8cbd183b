with

results as (

    select * from {{ ref('stg_dq__results') }}

),

latest as (

    -- a check retried inside one run appended its rows twice: its latest row counts
    select
        *,
        row_number() over (partition by result_key order by checked_at desc) as row_no
    from results

),

deduplicated as (

    select * from latest where row_no = 1

),

scorecard as (

    select
        run_id,
        source_system,
        dimension,
        min(checked_at) as first_checked_at,
        count(*) as rules_evaluated,
        avg(score) as mean_score,
        min(score) as min_score,
        sum(case when passed then 0 else 1 end) as rules_failed,
        sum(case when not passed and severity = 'blocking' then 1 else 0 end) as blocking_failures,
        sum(case when not passed and severity = 'warning' then 1 else 0 end) as warnings,
        sum(evaluated) as rows_evaluated,
        sum(failed) as rows_failed

    from deduplicated
    group by run_id, source_system, dimension

),

final as (

    select
        {{ dbt.concat(["run_id", "':'", "source_system", "':'", "dimension"]) }} as scorecard_key,
        run_id,
        min(first_checked_at) over (partition by run_id) as run_checked_at,
        source_system,
        dimension,
        cast(rules_evaluated as {{ dbt.type_bigint() }}) as rules_evaluated,
        cast(mean_score as {{ dbt.type_float() }}) as mean_score,
        cast(min_score as {{ dbt.type_float() }}) as min_score,
        cast(rules_failed as {{ dbt.type_bigint() }}) as rules_failed,
        cast(blocking_failures as {{ dbt.type_bigint() }}) as blocking_failures,
        cast(warnings as {{ dbt.type_bigint() }}) as warnings,
        cast(rows_evaluated as {{ dbt.type_bigint() }}) as rows_evaluated,
        cast(rows_failed as {{ dbt.type_bigint() }}) as rows_failed

    from scorecard

)

select * from final
