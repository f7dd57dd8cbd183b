{#
    to_numeric(expression, precision, scale): cast to numeric(precision, scale) the same way on
    both targets.

    DuckDB's avg() (and ratios of decimals) return DOUBLE, and so does PostgreSQL's
    percentile_cont(); the other target returns an exact numeric. A double holds 9.165 as
    9.16499999…, which DuckDB rounds to 9.16 while an exact 9.165 rounds to 9.17. Rounding to
    scale + 4 decimals first removes the binary noise, so both targets round the same value.
#}
{% macro to_numeric(expression, precision, scale) -%}
    cast(cast({{ expression }} as numeric({{ precision + 4 }}, {{ scale + 4 }})) as numeric({{ precision }}, {{ scale }}))
{%- endmacro %}
