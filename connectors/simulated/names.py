"""Chinese names: surnames by real frequency, given names by gender, and their variants.

Given names are drawn from short, Zipf-weighted character lists on purpose: the real
distribution is that skewed (张伟 and 王芳 are each shared by hundreds of thousands of people),
and namesakes are exactly what a matcher must not merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from opencc import OpenCC
from pypinyin import lazy_pinyin

from ._arrays import intern, map_unique, zipf_weights

# (surname, relative frequency in %, pinyin). Frequencies follow the national census
# rankings; compound surnames are rare but must exist, since they break "first character is
# the surname".
SURNAMES: tuple[tuple[str, float, str], ...] = (
    ("王", 7.12, "wang"), ("李", 7.00, "li"), ("张", 6.74, "zhang"), ("刘", 5.38, "liu"),
    ("陈", 4.53, "chen"), ("杨", 3.08, "yang"), ("赵", 2.29, "zhao"), ("黄", 2.23, "huang"),
    ("周", 1.92, "zhou"), ("吴", 1.83, "wu"), ("徐", 1.45, "xu"), ("孙", 1.38, "sun"),
    ("胡", 1.29, "hu"), ("朱", 1.26, "zhu"), ("高", 1.21, "gao"), ("林", 1.18, "lin"),
    ("何", 1.17, "he"), ("郭", 1.15, "guo"), ("马", 1.05, "ma"), ("罗", 0.86, "luo"),
    ("梁", 0.83, "liang"), ("宋", 0.78, "song"), ("郑", 0.78, "zheng"), ("谢", 0.72, "xie"),
    ("韩", 0.68, "han"), ("唐", 0.65, "tang"), ("冯", 0.64, "feng"), ("于", 0.62, "yu"),
    ("董", 0.61, "dong"), ("程", 0.57, "cheng"), ("曹", 0.57, "cao"), ("袁", 0.54, "yuan"),
    ("邓", 0.54, "deng"), ("许", 0.53, "xu"), ("傅", 0.52, "fu"), ("沈", 0.50, "shen"),
    ("曾", 0.50, "zeng"), ("彭", 0.49, "peng"), ("吕", 0.47, "lv"), ("苏", 0.46, "su"),
    ("卢", 0.46, "lu"), ("蒋", 0.46, "jiang"), ("蔡", 0.45, "cai"), ("贾", 0.42, "jia"),
    ("丁", 0.42, "ding"), ("魏", 0.41, "wei"), ("薛", 0.40, "xue"), ("叶", 0.40, "ye"),
    ("阎", 0.39, "yan"), ("余", 0.38, "yu"), ("潘", 0.38, "pan"), ("杜", 0.37, "du"),
    ("戴", 0.36, "dai"), ("夏", 0.35, "xia"), ("钟", 0.35, "zhong"), ("汪", 0.34, "wang"),
    ("田", 0.34, "tian"), ("任", 0.33, "ren"), ("姜", 0.33, "jiang"), ("范", 0.32, "fan"),
    ("方", 0.32, "fang"), ("石", 0.31, "shi"), ("姚", 0.30, "yao"), ("谭", 0.30, "tan"),
    ("廖", 0.29, "liao"), ("邹", 0.28, "zou"), ("熊", 0.28, "xiong"), ("金", 0.27, "jin"),
    ("陆", 0.27, "lu"), ("郝", 0.26, "hao"), ("孔", 0.25, "kong"), ("白", 0.25, "bai"),
    ("崔", 0.25, "cui"), ("康", 0.24, "kang"), ("毛", 0.24, "mao"), ("邱", 0.23, "qiu"),
    ("秦", 0.23, "qin"), ("江", 0.22, "jiang"), ("史", 0.22, "shi"), ("顾", 0.21, "gu"),
    ("侯", 0.21, "hou"), ("邵", 0.20, "shao"), ("孟", 0.20, "meng"), ("龙", 0.19, "long"),
    ("万", 0.19, "wan"), ("段", 0.19, "duan"), ("雷", 0.18, "lei"), ("钱", 0.18, "qian"),
    ("汤", 0.17, "tang"), ("尹", 0.17, "yin"), ("黎", 0.16, "li"), ("易", 0.16, "yi"),
    ("常", 0.16, "chang"), ("武", 0.16, "wu"), ("乔", 0.15, "qiao"), ("贺", 0.15, "he"),
    ("赖", 0.14, "lai"), ("龚", 0.14, "gong"), ("文", 0.14, "wen"), ("闫", 0.13, "yan"),
    ("付", 0.13, "fu"), ("牛", 0.12, "niu"), ("齐", 0.12, "qi"), ("耿", 0.10, "geng"),
    ("甄", 0.05, "zhen"), ("单", 0.04, "shan"), ("解", 0.03, "xie"), ("仇", 0.02, "qiu"),
    ("欧阳", 0.03, "ouyang"), ("上官", 0.005, "shangguan"), ("司马", 0.006, "sima"),
    ("诸葛", 0.004, "zhuge"), ("司徒", 0.004, "situ"), ("皇甫", 0.003, "huangfu"),
    ("令狐", 0.002, "linghu"), ("东方", 0.002, "dongfang"),
)  # fmt: skip

SURNAME_CHARS = np.array([s for s, _, _ in SURNAMES], dtype=object)
SURNAME_WEIGHTS = np.array([w for _, w, _ in SURNAMES]) / sum(w for _, w, _ in SURNAMES)
# Heteronym surnames (单 shan, 解 xie, 仇 qiu, 曾 zeng) read wrongly with a generic converter.
SURNAME_PINYIN = {s: p for s, _, p in SURNAMES}


def _chars(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.replace(" ", "")))


# Most frequent first: the Zipf weights make the head of each list dominate.
MALE_SINGLE = _chars(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳峰亮成东文力晨博昊"
)
FEMALE_SINGLE = _chars(
    "芳娜敏静丽艳娟霞秀玲燕丹萍红梅琳雪婷倩颖慧莉洁晶欣怡佳琪悦雅璐蕾薇月兰凤云英茜"
)
MALE_FIRST = _chars("建志海永国晓子浩俊文家宇明天振立德博嘉鹏思一春云金学长玉新少泽铭承梓佳")
MALE_SECOND = _chars("华明军国伟强平杰龙涛峰东辉勇斌刚飞波林宇轩豪然博鑫洋磊成生文民庆福亮睿航阳晨")
FEMALE_FIRST = _chars("秀桂丽晓海春玉美雪淑佳思欣梦雨子一诗紫婉雅红金艳亚")
FEMALE_SECOND = _chars("英兰芳华珍红梅霞燕萍娟玲丽敏静婷琳颖涵怡琪萱妍悦雪洁莉娜茹欣")
# Whole given names that were fashions of their decade; they create namesakes among
# two-character names too.
MALE_WHOLE = (
    "建国", "建军", "建华", "志强", "志明", "国强", "海涛", "永刚", "晓明", "子轩",
    "浩然", "宇轩", "俊杰", "文博", "明辉", "建平", "立新", "振华", "国庆", "德明",
)  # fmt: skip
FEMALE_WHOLE = (
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "秀珍", "丽娟", "海燕", "晓燕", "春梅",
    "淑珍", "美玲", "雪梅", "子涵", "欣怡", "梓涵", "雨涵", "佳怡", "思雨", "丽华",
)  # fmt: skip

# Share of given names of each shape: one character, a whole fashionable name, composed.
GIVEN_SHAPE_WEIGHTS = (0.30, 0.20, 0.50)

# Characters a clerk may type for one another: same toneless pinyin, so a pinyin comparison
# still agrees while a character comparison does not.
HOMOPHONE_GROUPS: tuple[str, ...] = (
    "伟玮炜纬", "丽莉俐", "静婧", "明铭", "杰洁", "华桦骅", "军君钧", "芳方", "敏民",
    "磊垒", "刚钢", "勇永咏", "艳燕雁", "秀琇", "娜那", "婷亭庭", "琳林霖", "玲铃龄",
    "红虹鸿", "霞侠", "峰锋丰", "涛韬滔", "鹏朋", "晶菁京", "慧惠蕙", "欣鑫新馨",
    "建健剑", "志智治", "凯恺铠", "斌彬宾", "浩皓昊", "宇雨羽", "梅玫媚", "萍平苹",
    "兰岚", "倩茜", "颖莹盈", "辉晖", "俊骏", "涵晗含", "轩萱宣", "怡仪宜", "佳嘉家",
    "琪琦祺", "玉钰", "东冬", "立利力", "振震", "龙隆",
)  # fmt: skip
HOMOPHONES: dict[str, tuple[str, ...]] = {
    ch: tuple(other for other in group if other != ch) for group in HOMOPHONE_GROUPS for ch in group
}

# Characters a clerk may misread or mistype for one another because they look alike (形近字),
# each pair both ways. Unlike homophones most differ in pinyin too, so a pinyin comparison
# does not rescue them. Every character is in GBK (the legacy CRM stores GBK).
SIMILAR_CHAR_PAIRS: tuple[str, ...] = (
    "己已", "未末", "土士", "日曰", "戊戌", "人入", "王玉", "大太", "天夭", "贝见", "侯候",
    "晴睛", "峰锋", "玲铃", "娟涓", "淑叔", "琳淋", "辉挥", "洁沽", "婷停", "丽俪", "莉利",
    "明朋", "宇字", "梅海", "永水", "金全", "少小", "思恩", "春舂", "子孑", "丹舟", "云去",
    "力刀", "雨两", "亚业", "泽译", "悦说", "怡治", "佳住", "桂挂", "美姜", "民氏", "生牛",
    "伟传", "昊吴", "帅师", "嘉喜", "晶品", "颖频", "珍玲", "雪雷", "博傅", "国固", "华毕",
    "军车", "成戍",
)  # fmt: skip
# Stray dots typed between surname and given name (乔·淑珍), most common first; `•` is not in
# GBK, so the CRM never gets it.
NAME_DOTS = ("·", ".", "•")
NAME_DOT_P = (0.7, 0.15, 0.15)

TITLES = ("先生", "女士")  # male, female
JUNK_NAMES = ("测试客户", "测试", "1234", "test", "TEST客户", "张三测试", "aaa", "临时户")


def draw_given_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """Given names for people of the given genders (object array)."""
    n = len(male)
    shape = rng.choice(3, size=n, p=GIVEN_SHAPE_WEIGHTS)
    out = np.empty(n, dtype=object)
    for is_male, single, first, second, whole in (
        (True, MALE_SINGLE, MALE_FIRST, MALE_SECOND, MALE_WHOLE),
        (False, FEMALE_SINGLE, FEMALE_FIRST, FEMALE_SECOND, FEMALE_WHOLE),
    ):
        g = male == is_male
        for kind, table in ((0, single), (1, whole)):
            rows = np.flatnonzero(g & (shape == kind))
            pick = rng.choice(len(table), size=len(rows), p=zipf_weights(len(table), 1.0))
            out[rows] = np.array(table, dtype=object)[pick]
        rows = np.flatnonzero(g & (shape == 2))
        a = rng.choice(len(first), size=len(rows), p=zipf_weights(len(first), 0.9))
        b = rng.choice(len(second), size=len(rows), p=zipf_weights(len(second), 0.9))
        out[rows] = np.array(first, dtype=object)[a] + np.array(second, dtype=object)[b]
    return intern(out)


def _one_character_replaced(
    rng: np.random.Generator, given: np.ndarray, table: Mapping[str, tuple[str, ...]]
) -> np.ndarray:
    """For each given name, one character that `table` knows replaced by one of its
    alternatives, both drawn at random (None if no character is in the table)."""

    def variant(name: str) -> str | None:
        positions = [i for i, ch in enumerate(name) if ch in table]
        if not positions:
            return None
        i = positions[int(rng.integers(len(positions)))]
        options = table[name[i]]
        return name[:i] + options[int(rng.integers(len(options)))] + name[i + 1 :]

    return map_unique(given, variant)


def homophone_variants(rng: np.random.Generator, given: np.ndarray) -> np.ndarray:
    """For each given name, a homophone variant (None if no character has one)."""
    return _one_character_replaced(rng, given, HOMOPHONES)


@lru_cache(maxsize=1)
def similar_chars() -> dict[str, tuple[str, ...]]:
    """Each confusable character's look-alikes, those read differently preferred."""
    partners: dict[str, list[str]] = {}
    for pair in SIMILAR_CHAR_PAIRS:
        a, b = pair[0], pair[1]
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    out = {}
    for ch, others in partners.items():
        differ = [o for o in others if lazy_pinyin(o) != lazy_pinyin(ch)]
        out[ch] = tuple(differ or others)
    return out


def similar_char_variants(rng: np.random.Generator, given: np.ndarray) -> np.ndarray:
    """For each given name, one character replaced by a look-alike (None if none has one)."""
    return _one_character_replaced(rng, given, similar_chars())


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


def is_gbk(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def to_traditional(values: np.ndarray) -> np.ndarray:
    """Traditional-character spelling; unchanged where the result would not fit in GBK.

    The legacy CRM stores GBK, so a character GBK cannot hold could never have been typed
    there; keeping such names simplified everywhere keeps the rule simple.
    """

    def convert(text: str) -> str:
        converted: str = _s2t().convert(text)
        return converted if is_gbk(converted) else text

    return map_unique(values, convert)


def given_pinyin(values: np.ndarray) -> np.ndarray:
    """Toneless pinyin of given names, syllables joined: 晓明 → xiaoming."""
    return map_unique(values, lambda text: "".join(lazy_pinyin(text)))


def given_syllables(values: np.ndarray) -> np.ndarray:
    """Toneless pinyin of given names, one syllable per character: 晓明 → xiao ming."""
    return map_unique(values, lambda text: " ".join(lazy_pinyin(text)))


def surname_pinyin(values: np.ndarray) -> np.ndarray:
    return map_unique(values, lambda text: SURNAME_PINYIN.get(text) or "".join(lazy_pinyin(text)))
