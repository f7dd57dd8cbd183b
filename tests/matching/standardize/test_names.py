import pandas as pd
import pytest

from matching.standardize import standardize_names


def one(name: str | None) -> dict:
    return standardize_names(pd.Series([name])).iloc[0].to_dict()


def test_spaces_and_title_are_removed():
    row = one("张 伟先生")
    assert (row["name"], row["name_title_removed"]) == ("张伟", True)


@pytest.mark.parametrize("title", ["先生", "女士", "小姐"])
def test_each_courtesy_title_is_removed(title):
    assert one(f"李娜{title}")["name"] == "李娜"


def test_full_width_letters_are_nfkc_normalized():
    assert one("ＺＨＡＮＧ ＷＥＩ")["name"] == "ZHANG WEI"


def test_traditional_characters_become_simplified():
    row = one("張偉")
    assert (row["name"], row["name_pinyin"], row["name_traditional"]) == ("张伟", "zhang wei", True)


def test_han_name_gives_toneless_pinyin_surname_first():
    row = one("张伟")
    assert (row["name_pinyin"], row["name_script"]) == ("zhang wei", "han")


@pytest.mark.parametrize(
    "written", ["ZHANG WEI", "Zhang Wei", "Wei Zhang", "zhang wei", "Zhang, Wei"]
)
def test_latin_spellings_of_one_name_agree(written):
    row = one(written)
    assert (row["name"], row["name_pinyin"], row["name_script"]) == (
        "ZHANG WEI",
        "zhang wei",
        "latin",
    )


def test_given_name_first_latin_name_is_reordered_and_flagged():
    # zhang (张, rank 3) is a more common surname than wei (魏), so it moves to the front.
    assert one("Wei Zhang")["name_reordered"] is True
    assert one("Zhang Wei")["name_reordered"] is False


def test_single_capitalised_token_is_the_surname():
    assert one("Wei ZHANG")["name"] == "ZHANG WEI"


def test_all_capitals_keep_the_written_order():
    # The passport / ID-card convention writes the surname first in capitals.
    assert one("YANG LI")["name"] == "YANG LI"


def test_latin_given_name_is_split_into_syllables_for_pinyin():
    # So that it compares equal with the character form 张小明 -> zhang xiao ming.
    row = one("Xiaoming Zhang")
    assert (row["name"], row["name_pinyin"]) == ("ZHANG XIAOMING", "zhang xiao ming")
    assert one("张小明")["name_pinyin"] == "zhang xiao ming"


def test_tone_marks_are_dropped_from_latin_names():
    assert one("Zhāng Wěi")["name"] == "ZHANG WEI"


def test_compound_surname_is_one_pinyin_token():
    assert one("欧阳婧")["name_pinyin"] == "ouyang jing"


def test_compound_surname_in_latin_moves_to_the_front():
    # 景 (jing) is a more common single surname, but no given name is spelled "ouyang".
    assert one("Jing Ouyang")["name"] == "OUYANG JING"


@pytest.mark.parametrize(
    ("name", "pinyin"),
    [
        ("曾国藩", "zeng guo fan"),  # default reading ceng
        ("单雄信", "shan xiong xin"),  # default dan
        ("解缙", "xie jin"),  # default jie
        ("仇英", "qiu ying"),  # default chou
        ("区寄", "ou ji"),  # default qu
        ("朴槿惠", "piao jin hui"),  # default pu
        ("查良镛", "zha liang yong"),  # default cha
        ("乐毅", "yue yi"),  # default le
    ],
)
def test_polyphonic_surname_takes_its_surname_reading(name, pinyin):
    assert one(name)["name_pinyin"] == pinyin


def test_minority_name_with_middle_dot_keeps_the_dot_and_all_syllables():
    # NFKC leaves •/・ alone; they are unified to the usual middle dot.
    row = one("阿依古丽•买买提")
    assert (row["name"], row["name_pinyin"]) == ("阿依古丽·买买提", "a yi gu li mai mai ti")


def test_mixed_script_name_is_mixed():
    assert one("张Wei")["name_script"] == "mixed"


@pytest.mark.parametrize(
    "name", ["测试", "测试用户01", "TEST USER", "123456", "无", "不详", "XXX", "N/A"]
)
def test_test_and_placeholder_names_are_junk(name):
    assert one(name)["name_is_junk"] is True


@pytest.mark.parametrize(
    "name",
    [
        "河北某某贸易有限公司",
        "中国银行",
        "华夏集团",
        "社区服务中心",
        "第一中学学校",
        "ACME CO., LTD",
    ],
)
def test_organization_names_are_flagged(name):
    assert one(name)["name_is_org"] is True


def test_a_person_is_neither_junk_nor_organization():
    row = one("王芳")
    assert (row["name_is_junk"], row["name_is_org"]) == (False, False)


def test_blank_name_is_null():
    assert one("   ")["name"] is None
    assert one(None)["name"] is None


def test_result_keeps_the_input_index():
    out = standardize_names(pd.Series(["张伟", "张伟"], index=[7, 3]))
    assert list(out.index) == [7, 3]


@pytest.mark.parametrize(
    "written",
    [
        "阿卜杜·热合曼",  # U+00B7, the standard middle dot
        "阿卜杜・热合曼",  # U+30FB katakana middle dot
        "阿卜杜•热合曼",  # U+2022 bullet
        "阿卜杜‧热合曼",  # U+2027 hyphenation point
        "阿卜杜･热合曼",  # U+FF65 half-width katakana middle dot
        "阿卜杜.热合曼",  # ASCII full stop
        "阿卜杜．热合曼",  # full-width full stop
        "阿卜杜 · 热合曼",  # spaces around the dot
        "阿卜杜··热合曼",  # a doubled dot
    ],
)
def test_every_middle_dot_variant_between_characters_becomes_the_middle_dot(written):
    row = one(written)
    assert (row["name"], row["name_pinyin"], row["name_script"]) == (
        "阿卜杜·热合曼",
        "a bo du re he man",
        "han",
    )


def test_foreign_name_in_characters_keeps_its_dot():
    assert one("玛丽•居里")["name"] == "玛丽·居里"


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("张伟。", "张伟"),
        ("“王芳”", "王芳"),
        ("张,伟", "张伟"),
        ("张-伟!", "张伟"),
        ("·李娜·", "李娜"),  # a dot not between two characters is stray
        ("李娜女士。", "李娜"),  # punctuation after the title does not hide the title
    ],
)
def test_stray_punctuation_is_removed_from_han_names(written, name):
    assert one(written)["name"] == name


@pytest.mark.parametrize(
    ("written", "name", "pinyin"),
    [
        ("Zhang Wei.", "ZHANG WEI", "zhang wei"),
        ("ZHANG/WEI", "ZHANG WEI", "zhang wei"),
        ("'Zhang Wei'", "ZHANG WEI", "zhang wei"),
        ("Xiao-Ming Zhang", "ZHANG XIAO-MING", "zhang xiao ming"),  # a hyphen stays
        ("Xi'an Zhang", "ZHANG XI'AN", "zhang xi an"),  # and marks a syllable boundary
    ],
)
def test_latin_names_lose_stray_punctuation_but_keep_hyphen_and_apostrophe(written, name, pinyin):
    row = one(written)
    assert (row["name"], row["name_pinyin"]) == (name, pinyin)


@pytest.mark.parametrize(
    ("written", "name"),
    [("Mr. Zhang Wei", "ZHANG WEI"), ("MRS LI NA", "LI NA"), ("Dr Wang Fang", "WANG FANG")],
)
def test_latin_courtesy_titles_are_removed_and_flagged(written, name):
    row = one(written)
    assert (row["name"], row["name_title_removed"]) == (name, True)


@pytest.mark.parametrize("title", ["夫人", "太太"])
def test_married_titles_are_removed(title):
    assert one(f"王芳{title}")["name"] == "王芳"


@pytest.mark.parametrize(
    ("written", "name", "pinyin"),
    [
        ("歐陽婧", "欧阳婧", "ouyang jing"),  # traditional compound surname
        ("上官婉儿", "上官婉儿", "shangguan wan er"),
        ("司马懿", "司马懿", "sima yi"),
        ("诸葛亮", "诸葛亮", "zhuge liang"),
        ("司徒雷登", "司徒雷登", "situ lei deng"),
    ],
)
def test_compound_surnames_stay_one_pinyin_token(written, name, pinyin):
    row = one(written)
    assert (row["name"], row["name_pinyin"]) == (name, pinyin)


@pytest.mark.parametrize("written", ["OUYANG JING", "Ouyang Jing", "Jing Ouyang", "Jing OUYANG"])
def test_compound_surname_in_latin_agrees_with_the_characters_in_every_order(written):
    assert one(written)["name_pinyin"] == one("欧阳婧")["name_pinyin"] == "ouyang jing"


def test_traditional_name_with_polyphonic_surname_takes_the_surname_reading():
    assert one("曾國藩")["name_pinyin"] == "zeng guo fan"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("乔·淑珍", "乔淑珍"),  # a stray dot after the surname
        ("欧阳·婧", "欧阳婧"),  # after a compound surname
        ("乔 . 淑珍", "乔淑珍"),
        ("楊·建華", "杨建华"),  # traditional characters: the surname is known once simplified
        ("阿卜杜·热合曼", "阿卜杜·热合曼"),  # a transliterated name keeps its separator
        ("玛丽·居里", "玛丽·居里"),  # 玛 is no surname: kept
    ],
)
def test_a_stray_dot_inside_a_chinese_name_is_dropped(raw, expected):
    assert one(raw)["name"] == expected


@pytest.mark.parametrize(
    "name", ["张三", "李四", "王五", "赵六", "某某", "张某", "欧阳某某", "先生", "女士", "Test 01"]
)
def test_stock_withheld_and_title_only_names_are_junk(name):
    assert one(name)["name_is_junk"] is True


@pytest.mark.parametrize("name", ["张三丰", "李四光", "王五一", "张伟"])
def test_real_names_beginning_like_a_stock_name_are_people(name):
    row = one(name)
    assert (row["name_is_junk"], row["name_is_org"]) == (False, False)


def test_an_organization_with_a_withheld_name_part_is_still_an_organization():
    row = one("石家庄某某商贸有限公司")
    assert (row["name_is_junk"], row["name_is_org"]) == (False, True)
