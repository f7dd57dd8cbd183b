{#
    Portable parsing of the text dates and timestamps the source systems store.

    parse_timestamp(expression, formats) -> timestamp (NULL when no format matches or the
    value is not a real calendar moment, e.g. 2026-02-30; never an error).
    parse_date(expression, formats)      -> date.
    clean_text(expression)               -> trimmed text, '' as NULL.

    `formats` is a list of strptime-style patterns tried in order; the supported directives are
    %Y (4-digit year), %m, %d, %H, %M, %S (1 or 2 digits; exactly 2 when next to another
    directive, as in %Y%m%d). Any other character is matched literally, so Chinese
    patterns such as '%Y年%m月%d日' work.

    Each pattern is first turned into an anchored regular expression (years 1000-9999), so both
    adapters accept exactly the same shapes. DuckDB then parses with try_strptime. PostgreSQL's
    to_timestamp raises on bad input, so there the groups are range-checked (month, days of
    that month, hour, minute, second) before make_timestamp builds the value: a malformed
    source row gives NULL instead of failing the build.
#}

{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}


{% macro parse_date(expression, formats) -%}
    cast({{ mdm.parse_timestamp(expression, formats) }} as date)
{%- endmacro %}


{% macro parse_timestamp(expression, formats) -%}
    {%- if formats is string -%}
        {%- set formats = [formats] -%}
    {%- endif -%}
    {{ return(adapter.dispatch('parse_timestamp', 'mdm')(expression, formats)) }}
{%- endmacro %}


{% macro default__parse_timestamp(expression, formats) -%}
    {{ exceptions.raise_compiler_error(
        "parse_timestamp has no implementation for adapter " ~ adapter.type()
        ~ "; add a " ~ adapter.type() ~ "__parse_timestamp macro") }}
{%- endmacro %}


{% macro duckdb__parse_timestamp(expression, formats) -%}
    {%- set value = mdm.clean_text(expression) -%}
    cast(coalesce(
        {%- for fmt in formats %}
        case
            when regexp_full_match({{ value }}, '{{ mdm._timestamp_format_regex(fmt).pattern }}')
                then try_strptime({{ value }}, '{{ fmt }}')
        end{{ "," if not loop.last }}
        {%- endfor %}
    ) as timestamp)
{%- endmacro %}


{% macro postgres__parse_timestamp(expression, formats) -%}
    {%- set value = mdm.clean_text(expression) -%}
    coalesce(
        {%- for fmt in formats %}
        {{ mdm._postgres_parse_one(value, fmt) }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{# Split a pattern into [{'field': 'Y'}, {'literal': '-'}, ...]; rejects unknown directives. #}
{% macro _timestamp_format_tokens(fmt) -%}
    {%- set tokens = [] -%}
    {%- set state = namespace(percent=false) -%}
    {%- for ch in fmt -%}
        {%- if state.percent -%}
            {%- if ch not in ['Y', 'm', 'd', 'H', 'M', 'S'] -%}
                {{ exceptions.raise_compiler_error(
                    "parse_timestamp: unsupported directive %" ~ ch ~ " in '" ~ fmt ~ "'") }}
            {%- endif -%}
            {%- do tokens.append({'field': ch}) -%}
            {%- set state.percent = false -%}
        {%- elif ch == '%' -%}
            {%- set state.percent = true -%}
        {%- else -%}
            {%- if ch == "'" -%}
                {{ exceptions.raise_compiler_error("parse_timestamp: quote in pattern '" ~ fmt ~ "'") }}
            {%- endif -%}
            {%- do tokens.append({'literal': ch}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set fields = tokens | selectattr('field', 'defined') | map(attribute='field') | list -%}
    {%- if 'Y' not in fields or 'm' not in fields or 'd' not in fields -%}
        {{ exceptions.raise_compiler_error("parse_timestamp: '" ~ fmt ~ "' needs %Y, %m and %d") }}
    {%- endif -%}
    {{ return(tokens) }}
{%- endmacro %}


{#
    The anchored regular expression a pattern accepts, and the capture group of each directive:
    {'pattern': '^([1-9]\d{3})-(\d{1,2})-(\d{1,2})$', 'positions': {'Y': 1, 'm': 2, 'd': 3}}.
    Both adapters check the shape with it first, so DuckDB's lenient strptime (which reads
    '85-3-7' as the year 85) accepts exactly what the PostgreSQL path accepts.
#}
{% macro _timestamp_format_regex(fmt) -%}
    {%- set tokens = mdm._timestamp_format_tokens(fmt) -%}
    {%- set pieces = ['^'] -%}
    {%- set positions = {} -%}
    {%- for token in tokens -%}
        {%- if token.field is defined -%}
            {%- set next_is_field = (not loop.last) and (tokens[loop.index0 + 1].field is defined) -%}
            {%- set previous_is_field = (not loop.first) and (tokens[loop.index0 - 1].field is defined) -%}
            {%- if token.field == 'Y' -%}
                {%- do pieces.append('([1-9]\\d{3})') -%}
            {%- elif next_is_field or previous_is_field -%}
                {%- do pieces.append('(\\d{2})') -%}
            {%- else -%}
                {%- do pieces.append('(\\d{1,2})') -%}
            {%- endif -%}
            {%- do positions.update({token.field: positions | length + 1}) -%}
        {%- elif token.literal in '.^$*+?()[]{}|\\' -%}
            {%- do pieces.append('\\' ~ token.literal) -%}
        {%- else -%}
            {%- do pieces.append(token.literal) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do pieces.append('$') -%}
    {{ return({'pattern': pieces | join(''), 'positions': positions}) }}
{%- endmacro %}


{% macro _postgres_parse_one(value, fmt) -%}
    {%- set shape = mdm._timestamp_format_regex(fmt) -%}
    {%- set pattern = shape.pattern -%}
    {%- set positions = shape.positions -%}
    {%- set part = {} -%}
    {%- for name in ['Y', 'm', 'd', 'H', 'M', 'S'] -%}
        {%- if name in positions -%}
            {%- do part.update({name: "(regexp_match(" ~ value ~ ", '" ~ pattern ~ "'))[" ~ positions[name] ~ "]::integer"}) -%}
        {%- else -%}
            {%- do part.update({name: "0"}) -%}
        {%- endif -%}
    {%- endfor -%}
    case when {{ value }} ~ '{{ pattern }}' then
        case when {{ part.m }} between 1 and 12 then
            case when {{ part.d }} between 1 and extract(day from
                    make_date({{ part.Y }}, {{ part.m }}, 1) + interval '1 month' - interval '1 day')
                {%- if 'H' in positions %}
                and {{ part.H }} between 0 and 23
                {%- endif %}
                {%- if 'M' in positions %}
                and {{ part.M }} between 0 and 59
                {%- endif %}
                {%- if 'S' in positions %}
                and {{ part.S }} between 0 and 59
                {%- endif %}
            then make_timestamp({{ part.Y }}, {{ part.m }}, {{ part.d }}, {{ part.H }}, {{ part.M }}, {{ part.S }})
            end
        end
    end
{%- endmacro %}
