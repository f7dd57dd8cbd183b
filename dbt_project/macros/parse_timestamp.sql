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

    Each pattern is first turned into an anchored regular expression (years 1000-9999, months
    1-12, days 1-31, hours 0-23, minutes and seconds 0-59), so both adapters accept exactly the
    same shapes. DuckDB then parses with try_strptime. PostgreSQL's casts raise on bad input, so
    there the day is checked against its month before the value is built: a malformed source
    row gives NULL instead of failing the build.
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
    {'pattern': '^([1-9][0-9]{3})-(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])$',
     'positions': {'Y': 1, 'm': 2, 'd': 3}}.
    Both adapters check the shape with it first, so DuckDB's lenient strptime (which reads
    '85-3-7' as the year 85) accepts exactly what the PostgreSQL path accepts. The ranges of
    month, day, hour, minute and second are in the expression, so all that is left to check
    afterwards is the day against its month. Digits are [0-9], not \d: a PostgreSQL locale may
    count other Unicode digits (fullwidth ２) as \d.
#}
{% macro _timestamp_format_regex(fmt) -%}
    {%- set tokens = mdm._timestamp_format_tokens(fmt) -%}
    {%- set pieces = ['^'] -%}
    {%- set positions = {} -%}
    {%- for token in tokens -%}
        {%- if token.field is defined -%}
            {%- set next_is_field = (not loop.last) and (tokens[loop.index0 + 1].field is defined) -%}
            {%- set previous_is_field = (not loop.first) and (tokens[loop.index0 - 1].field is defined) -%}
            {%- set fixed = next_is_field or previous_is_field -%}
            {%- if token.field == 'Y' -%}
                {%- do pieces.append('([1-9][0-9]{3})') -%}
            {%- elif token.field == 'm' -%}
                {%- do pieces.append('(0[1-9]|1[0-2])' if fixed else '(0?[1-9]|1[0-2])') -%}
            {%- elif token.field == 'd' -%}
                {%- do pieces.append('(0[1-9]|[12][0-9]|3[01])' if fixed else '(0?[1-9]|[12][0-9]|3[01])') -%}
            {%- elif token.field == 'H' -%}
                {%- do pieces.append('([01][0-9]|2[0-3])' if fixed else '([01]?[0-9]|2[0-3])') -%}
            {%- else -%}
                {%- do pieces.append('([0-5][0-9])' if fixed else '([0-5]?[0-9])') -%}
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


{#
    One pattern on PostgreSQL. The shape, with every field's range, is checked with `~`
    against the anchored regular expression. The day is then checked against its month (only
    when it is past the 28th: the month and year are read for one row in ten), and the value
    is built. PostgreSQL evaluates a repeated expression once per use, so every piece read
    costs: a pattern PostgreSQL's own input parser reads the same way in every DateStyle
    (ISO-like, year first: `_postgres_native_skeletons`) is simply cast; any other pattern is
    cut into fields without regexp_match (whose capture groups cost ~30 times a plain match):
    every literal character becomes a delimiter (translate), the n-th delimited piece is
    split_part(..., n), and fields written next to each other (%Y%m%d) have fixed widths inside
    their piece (4 for %Y, 2 otherwise); make_timestamp builds the value. On 841,664 account
    rows one timestamp column (two patterns) took 12.5 s when every field was cut out and
    range-checked here, 2.8 s with the ranges in the expression and the cast.
#}
{% macro _postgres_parse_one(value, fmt) -%}
    {%- set shape = mdm._timestamp_format_regex(fmt) -%}
    {%- set positions = shape.positions -%}
    {%- set tokens = mdm._timestamp_format_tokens(fmt) -%}
    {%- set literals = [] -%}
    {%- set skeleton = [] -%}
    {%- for token in tokens -%}
        {%- do skeleton.append(token.field if token.field is defined else token.literal) -%}
        {%- if token.literal is defined and token.literal not in literals -%}
            {%- if token.literal in '0123456789' -%}
                {{ exceptions.raise_compiler_error("parse_timestamp: digit literal in '" ~ fmt ~ "'") }}
            {%- endif -%}
            {%- do literals.append(token.literal) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set delimiter = ['|', '#', '~', '!'] | reject('in', literals) | first -%}
    {%- if literals -%}
        {%- set pieces = "translate(" ~ value ~ ", '" ~ literals | join('') ~ "', '" ~ delimiter * (literals | length) ~ "')" -%}
    {%- else -%}
        {%- set pieces = value -%}
    {%- endif -%}
    {#- runs of adjacent fields, each in its delimited piece: [{'piece': n, 'fields': [...]}] -#}
    {%- set runs = [] -%}
    {%- set state = namespace(piece=1, open=false) -%}
    {%- for token in tokens -%}
        {%- if token.literal is defined -%}
            {%- set state.piece = state.piece + 1 -%}
            {%- set state.open = false -%}
        {%- else -%}
            {%- if not state.open -%}
                {%- do runs.append({'piece': state.piece, 'fields': []}) -%}
                {%- set state.open = true -%}
            {%- endif -%}
            {%- do runs[-1].fields.append(token.field) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set part = {'H': '0', 'M': '0', 'S': '0'} -%}
    {%- for run in runs -%}
        {%- set piece = "split_part(" ~ pieces ~ ", '" ~ delimiter ~ "', " ~ run.piece ~ ")" if literals else pieces -%}
        {%- if run.fields | length == 1 -%}
            {%- do part.update({run.fields[0]: piece ~ "::integer"}) -%}
        {%- else -%}
            {%- set offset = namespace(at=1) -%}
            {%- for field in run.fields -%}
                {%- set width = 4 if field == 'Y' else 2 -%}
                {%- do part.update({field: "substr(" ~ piece ~ ", " ~ offset.at ~ ", " ~ width ~ ")::integer"}) -%}
                {%- set offset.at = offset.at + width -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if skeleton | join('') in mdm._postgres_native_skeletons() -%}
        {%- set built = "cast(" ~ value ~ " as timestamp)" -%}
    {%- else -%}
        {%- set built = "make_timestamp(" ~ part.Y ~ ", " ~ part.m ~ ", " ~ part.d ~ ", " ~ part.H ~ ", " ~ part.M ~ ", " ~ part.S ~ ")" -%}
    {%- endif -%}
    case when {{ value }} ~ '{{ shape.pattern }}' then
        case
            when {{ part.d }} <= 28 then {{ built }}
            when {{ part.d }} <= case {{ part.m }}
                when 2 then case when {{ part.Y }} % 4 = 0 and ({{ part.Y }} % 100 <> 0 or {{ part.Y }} % 400 = 0) then 29 else 28 end
                when 4 then 30 when 6 then 30 when 9 then 30 when 11 then 30
                else 31
            end then {{ built }}
        end
    end
{%- endmacro %}


{#
    Patterns (fields as letters, literals as themselves) that PostgreSQL's timestamp input reads
    as year, month, day[, hour, minute[, second]] whatever the server's DateStyle: a four-digit
    year first, then '-' or '/', or the eight digits of ISO 8601's basic form.
#}
{% macro _postgres_native_skeletons() -%}
    {{ return([
        'Y-m-d', 'Y-m-d H:M', 'Y-m-d H:M:S', 'Y-m-dTH:M', 'Y-m-dTH:M:S',
        'Y/m/d', 'Y/m/d H:M', 'Y/m/d H:M:S', 'Ymd',
    ]) }}
{%- endmacro %}
