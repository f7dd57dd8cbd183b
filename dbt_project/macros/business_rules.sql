{#
    Business constants used by more than one model, kept in one place.

    as_of_date(): the run's business date (var `as_of_date`, YYYY-MM-DD) as a date literal;
        without one, today in China (the pipeline always passes its run's date).
    loan_classes(): the five-tier loan classification (贷款五级分类), best to worst.
    loan_class_rank(expression): 1 (正常) … 5 (损失), NULL for anything else.
    loan_class_label(expression): the inverse, rank -> class.
    surname(name_pinyin): the household rule's surname, the first word of the pinyin name.
#}

{% macro as_of_date() -%}
    {%- set given = var("as_of_date", "") -%}
    {%- if not given -%}
        {%- set given = modules.datetime.datetime.now(modules.pytz.timezone("Asia/Shanghai")).date().isoformat() -%}
    {%- endif -%}
    cast('{{ given }}' as date)
{%- endmacro %}


{% macro loan_classes() -%}
    {{ return(['正常', '关注', '次级', '可疑', '损失']) }}
{%- endmacro %}


{% macro loan_class_rank(expression) -%}
    case {{ expression }}
        {%- for loan_class in mdm.loan_classes() %}
        when '{{ loan_class }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}


{% macro loan_class_label(expression) -%}
    case {{ expression }}
        {%- for loan_class in mdm.loan_classes() %}
        when {{ loop.index }} then '{{ loan_class }}'
        {%- endfor %}
    end
{%- endmacro %}


{#- Compound surnames come joined (`ouyang`); latin-script names are in pinyin too. -#}
{% macro surname(name_pinyin) -%}
    nullif(split_part({{ name_pinyin }}, ' ', 1), '')
{%- endmacro %}
