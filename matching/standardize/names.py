"""Person names: cleaned, simplified, in one script-independent pinyin form for matching.

`name` is NFKC, spaces and courtesy titles removed, traditional characters simplified; a
latin name is upper-cased and put surname first. `name_pinyin` is toneless, lower-case,
space-separated, surname first, so `张伟`, `張偉`, `ZHANG WEI` and `Wei Zhang` all give
`zhang wei`: the matching stage blocks and compares on it.

Transliterated minority and foreign names keep their separator: whichever dot was typed
between two characters (`・` `•` `‧` `･` `.` `。` …) becomes the middle dot `·` (阿卜杜·热合曼),
and the pinyin then reads every syllable without singling out a surname. Other punctuation is
stray and removed (`张伟。`, `“王芳”`); latin names keep only `,` (surname first), `-` and `'`
(which also mark syllable boundaries: `Xi'an` -> `xi an`).

Surnames follow `reference/surnames.csv` (ranked by frequency): compound surnames (欧阳 ->
`ouyang`) stay one token, and polyphonic characters take their surname reading (曾 zeng, 单
shan, 区 ou…), which pypinyin's word-based default gets wrong for a name's first character.

Latin names, surname first when recognisable, simple on purpose:
1. `Zhang, Wei`: the part before the comma is the surname.
2. One token in capitals among mixed-case ones (`Wei ZHANG`): that token is the surname.
3. All capitals (`ZHANG WEI`): kept as written, the passport and ID-card order.
4. Otherwise the last token moves to the front when it is a known surname more common than
   the first token (`Wei Zhang` -> ZHANG WEI: both are surnames, 张 ranks above 魏).
   The cost: a mixed-case `Yang Li` meaning 杨丽 becomes LI YANG. Names from the sources we
   know are either all capitals or given-name first, where this guess is right.
Given-name tokens are split into pinyin syllables for `name_pinyin` (`Xiaoming` -> `xiao
ming`) so they compare with the character form; a token that is not pinyin is kept whole.

Per-value work (OpenCC, pypinyin) runs once per distinct name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from unicodedata import normalize

import opencc
import pandas as pd
from opencc import OpenCC
from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

from matching.standardize._text import as_text, on_uniques, text_of

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RE = re.compile(f"[{_HAN}]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_OTHER_LETTER_RE = re.compile(rf"[^\W\d_A-Za-z{_HAN}]")
# The separator of transliterated minority and foreign names (阿卜杜·热合曼) is typed with
# whatever dot the keyboard offers; between two characters every one of them means `·`.
_DOTS = "·・•‧∙⋅･.。"
_DOT_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])\s*[{_DOTS}]+\s*(?=[{_HAN}])")
_DOT_BETWEEN_LETTERS = re.compile(rf"(?<=[^\W\d_])\s*[{_DOTS}]+\s*(?=[^\W\d_])")
# Punctuation and symbols other than the name separator; latin names keep , - ' too.
_HAN_STRAY = re.compile(r"[^\w·]|_")
_LATIN_STRAY = re.compile(r"[^\w\s,'\-]|_")
_MIXED_STRAY = re.compile(r"[^\w\s'\-·]|_")
_LATIN_LOOSE_MARK = re.compile(r"(?<![A-Za-z])['\-]+|['\-]+(?![A-Za-z])")
_ANNOTATION = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_SPACES = re.compile(r"\s+")
_DOT_RUN = re.compile("·+")
_SPACE_AROUND_HAN = re.compile(rf"\s*([{_HAN}·])\s*")
_MIXED_PINYIN_SPLIT = re.compile(r"[\s·]+")
_ALL_HAN = re.compile(f"[{_HAN}]+")

_HAN_TITLES = re.compile(r"(?:先生|女士|小姐|夫人|太太)$")
_LATIN_TITLES = re.compile(r"^(?:MR|MRS|MS|MISS|MDM|DR)\.?\s+", re.IGNORECASE)

# 张某 / 张某某: a name withheld (the way court papers write one), nobody's own.
_JUNK_RE = re.compile(rf"测试|(?i:\btest|\bdummy)|^[{_HAN}]{{0,2}}某+$")
_PLACEHOLDERS = frozenset(
    {
        # The stock names of forms and examples (John Doe), typed for test customers.
        "张三",
        "李四",
        "王五",
        "赵六",
        "钱七",
        "孙八",
        # A title with no name: what a clerk types when the customer's name was not asked.
        "先生",
        "女士",
        "小姐",
        "顾客",
        "无",
        "无名",
        "不详",
        "未知",
        "空",
        "暂无",
        "某某",
        "某",
        "客户",
        "匿名",
        "姓名",
        "临时户",
        "临时客户",
    }
    | {"NULL", "NONE", "NA", "N/A", "UNKNOWN", "NIL", "TBD"}
)
_NO_LETTERS_RE = re.compile(r"^[\W\d_]+$")
_REPEATED_RE = re.compile(r"^(.)\1{2,}$")

_ORG_RE = re.compile(
    r"有限|公司|股份|银行|集团|中心|学校|学院|大学|医院|研究所|研究院|委员会|合作社|事务所|"
    r"协会|基金会|政府|工作室|商行|商店|门市部|厂$|店$"
    r"|(?i:\b(?:co|ltd|limited|inc|corp|corporation|company|bank|group|llc|gmbh)\b)"
)

_REFERENCE = resources.files("matching.standardize") / "reference"


@cache
def _surnames() -> pd.DataFrame:
    with (_REFERENCE / "surnames.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"surname": str, "pinyin": str, "rank": int})


@cache
def _surname_pinyin() -> dict[str, str]:
    table = _surnames()
    return dict(zip(table["surname"], table["pinyin"], strict=True))


@cache
def _compound_surnames() -> frozenset[str]:
    return frozenset(s for s in _surnames()["surname"] if len(s) == 2)


@cache
def _latin_surname_rank() -> dict[str, int]:
    """Surname pinyin -> rank of its most common character form (zhang -> 3).

    Compound surnames rank 0: `ouyang` is rare, but no given name is spelled like it, so
    `Jing Ouyang` must turn into OUYANG JING even though 景 (jing) is a more common surname.
    """
    table = _surnames()
    ranks = table.groupby("pinyin")["rank"].min()
    compound = set(table.loc[table["surname"].str.len() == 2, "pinyin"])
    return {str(p): 0 if p in compound else int(r) for p, r in ranks.items()}


@cache
def _syllables() -> frozenset[str]:
    out = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading.replace("ü", "v"))
            plain = "".join(c for c in plain if not unicodedata.combining(c))
            # Interjection readings without a vowel (m, ng, hm) would split real names oddly.
            if re.fullmatch(r"[a-z]*[aeiouv][a-z]*", plain):
                out.add(plain)
    return frozenset(out)


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@cache
def _traditional_chars() -> frozenset[str]:
    """Characters that t2s may change; names without any skip the (slow) OpenCC call.

    A character mapped to another, or changed inside a phrase (沈 in 沈沒); not every
    character of such a phrase, or common names (李, 明) would all take the slow call.
    """
    dictionary = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for file in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (dictionary / file).read_text(encoding="utf-8").splitlines():
            key, _, targets = line.partition("\t")
            target = targets.split(" ")[0]
            if target == key:
                continue
            if len(target) == len(key):
                chars.update(a for a, b in zip(key, target, strict=True) if a != b)
            else:
                chars.update(key)
    return frozenset(chars)


def _to_simplified(name: str) -> str:
    if _traditional_chars().isdisjoint(name):
        return name
    return str(_t2s().convert(name))


@lru_cache(maxsize=200_000)
def _split_syllables(token: str) -> tuple[str, ...] | None:
    """Fewest pinyin syllables spelling `token`, longest first on ties; None if impossible."""
    syllables = _syllables()
    n = len(token)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[n] = ()
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + 6), i, -1):
            rest = best[j]
            if rest is not None and token[i:j] in syllables:
                candidate = (token[i:j], *rest)
                current = best[i]
                if current is None or len(candidate) < len(current):
                    best[i] = candidate
    return best[0]


@lru_cache(maxsize=500_000)
def _given_pinyin(given: str) -> str:
    # Given names repeat far more than full names (张伟, 王伟, 李伟 share 伟).
    tokens = lazy_pinyin(given, style=Style.NORMAL) if given else []
    return " ".join(t.lower() for t in (tok.strip() for tok in tokens) if t)


def _han_pinyin(name: str) -> str:
    if "·" in name:
        # Transliterated minority names (阿依古丽·买买提) have no Chinese surname to single out.
        tokens = lazy_pinyin(name.replace("·", " "), style=Style.NORMAL)
        return " ".join(t.strip().lower() for t in tokens if t.strip())
    compound = len(name) >= 3 and name[:2] in _compound_surnames()
    surname, given = (name[:2], name[2:]) if compound else (name[:1], name[1:])
    surname_py = _surname_pinyin().get(surname) or "".join(lazy_pinyin(surname, style=Style.NORMAL))
    surname_py = surname_py.strip().lower()
    given_py = _given_pinyin(given)
    return f"{surname_py} {given_py}" if surname_py and given_py else surname_py or given_py


def _drop_stray_dot(name: str) -> str:
    """`乔·淑珍` -> `乔淑珍`: one dot after a Chinese surname, with at most two characters
    after it, is a slip of the keyboard, not the separator of a transliterated name (those
    have longer parts: 阿卜杜·热合曼, 玛丽·居里)."""
    surname, dot, given = name.partition("·")
    if not dot or "·" in given or not 1 <= len(given) <= 2:
        return name
    return surname + given if surname in _surname_pinyin() else name


def _strip_accents(text: str) -> str:
    text = text.replace("ü", "v").replace("Ü", "V")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _order_latin(text: str) -> tuple[list[str], bool]:
    """Tokens surname first (see the module docstring) and whether they were reordered."""
    if "," in text:
        head, _, tail = text.partition(",")
        return head.split() + tail.replace(",", " ").split(), False
    tokens = text.split()
    if len(tokens) < 2:
        return tokens, False
    capitals = [t for t in tokens if t.isupper() and len(t) > 1]
    if len(capitals) == 1 and not all(t.isupper() for t in tokens):
        surname = capitals[0]
        rest = [t for t in tokens if t is not surname]
        return [surname, *rest], tokens[0] is not surname
    if text.isupper():
        return tokens, False
    ranks = _latin_surname_rank()
    first = ranks.get(tokens[0].lower(), 10**9)
    last = ranks.get(tokens[-1].lower())
    if last is not None and last < first:
        return [tokens[-1], *tokens[:-1]], True
    return tokens, False


def _latin_pinyin(tokens: list[str]) -> str:
    words = [re.sub(r"[^a-z]", "", t.lower()) for t in tokens]
    words = [w for w in words if w]
    if not words:
        return ""
    if len(words) == 1:
        # One run-together token: peel a known compound surname off before splitting syllables.
        word = words[0]
        compound = next(
            (s for s in _compound_pinyin() if word.startswith(s) and len(word) > len(s)), None
        )
        if compound:
            rest = _split_syllables(word[len(compound) :])
            return " ".join([compound, *rest]) if rest else word
        parts = _split_syllables(word)
        return " ".join(parts) if parts else word
    given: list[str] = []
    for token in tokens[1:]:
        # An apostrophe or hyphen already marks a syllable boundary (Xi'an, Xiao-Ming).
        for piece in re.split(r"['\-]", token.lower()):
            word = re.sub(r"[^a-z]", "", piece)
            if word:
                parts = _split_syllables(word)
                given.extend(parts if parts else [word])
    return " ".join([words[0], *given])


@cache
def _compound_pinyin() -> tuple[str, ...]:
    table = _surnames()
    compounds = table.loc[table["surname"].str.len() == 2, "pinyin"]
    return tuple(sorted(set(compounds), key=len, reverse=True))


def _standardize_one(raw: str) -> tuple[str | None, str | None, str | None, bool, bool, bool]:
    """(name, pinyin, script, title_removed, traditional, reordered) for one cleaned name."""
    if _ALL_HAN.fullmatch(raw):  # nearly every name: characters only, nothing to clean
        name = _HAN_TITLES.sub("", raw) or raw
        simplified = _to_simplified(name)
        return simplified, _han_pinyin(simplified), "han", name != raw, simplified != name, False
    has_han = bool(_HAN_RE.search(raw))
    if not has_han:
        # Tone marks (Zhāng Wěi) are latin letters too; stripped only without characters
        # around, because NFKD would also take kana and hangul apart.
        raw = _strip_accents(raw)
    has_latin = bool(_LATIN_RE.search(raw))
    has_other = bool(_OTHER_LETTER_RE.search(raw))
    if not (has_han or has_latin or has_other):
        return None, None, None, False, False, False
    if has_han and not has_latin and not has_other:
        squeezed = _DOT_BETWEEN_HAN.sub("·", _SPACES.sub("", raw))
        compact = _DOT_RUN.sub("·", _HAN_STRAY.sub("", squeezed)).strip("·")
        name = _HAN_TITLES.sub("", compact) or compact
        simplified = _to_simplified(name)
        traditional = simplified != name
        # After simplification: the surname table holds simplified characters (楊 -> 杨).
        simplified = _drop_stray_dot(simplified)
        return (
            simplified,
            _han_pinyin(simplified),
            "han",
            name != compact,
            traditional,
            False,
        )
    if has_latin and not has_han and not has_other:
        untitled = _LATIN_TITLES.sub("", raw) or raw
        titled = untitled != raw
        untitled = _LATIN_LOOSE_MARK.sub(" ", _LATIN_STRAY.sub(" ", untitled))
        tokens, reordered = _order_latin(" ".join(untitled.split()))
        name = " ".join(t.upper() for t in tokens)
        return (
            name or None,
            _latin_pinyin(tokens) or None,
            "latin",
            titled,
            False,
            reordered,
        )
    # Mixed: drop the spaces touching a character, keep those between latin words.
    dotted = _DOT_BETWEEN_LETTERS.sub("·", raw)
    cleaned = " ".join(_LATIN_LOOSE_MARK.sub(" ", _MIXED_STRAY.sub(" ", dotted)).split())
    compact = _SPACE_AROUND_HAN.sub(r"\1", cleaned)
    simplified = _to_simplified(compact)
    tokens = lazy_pinyin(simplified, style=Style.NORMAL)
    pinyin = " ".join(w for t in tokens for w in _MIXED_PINYIN_SPLIT.split(t.lower()) if w)
    return simplified.upper(), pinyin or None, "mixed", False, simplified != compact, False


NAME_COLUMNS = (
    "name",
    "name_pinyin",
    "name_script",
    "name_title_removed",
    "name_traditional",
    "name_reordered",
    "name_is_junk",
    "name_is_org",
)
_FLAGS = NAME_COLUMNS[3:]


NameRow = tuple[str | None, str | None, str | None, bool, bool, bool, bool, bool]


@lru_cache(maxsize=1 << 18)
def _standardize_name(raw: str) -> NameRow:
    """One distinct name's row of NAME_COLUMNS.

    Cached across calls: the sources of one run share most of their names, so the second and
    third source cost little more than the distinct names they add.
    """
    text = _SPACES.sub(" ", _ANNOTATION.sub("", normalize("NFKC", raw)).strip())
    squeezed = text.replace(" ", "")
    junk = bool(
        _JUNK_RE.search(text)
        or squeezed.upper() in _PLACEHOLDERS
        or (squeezed and _NO_LETTERS_RE.match(squeezed))
        or _REPEATED_RE.match(squeezed)
    )
    org = not junk and bool(_ORG_RE.search(text))
    return (*_standardize_one(text), junk, org)


def standardize_name(raw: str) -> NameRow | None:
    """`standardize_names` for one value, without pandas: its row of NAME_COLUMNS, or None
    for a blank value (whose row would be all NULL)."""
    text = text_of(raw)
    return None if text is None else _standardize_name(text)


def _standardize_unique(names: pd.Series) -> pd.DataFrame:
    rows = [_standardize_name(name) for name in names.to_numpy(dtype=object)]
    out = pd.DataFrame(rows, index=names.index, columns=list(NAME_COLUMNS))
    return out.astype(dict.fromkeys(_FLAGS, bool))


def standardize_names(values: pd.Series) -> pd.DataFrame:
    """Standardize a column of person names.

    Returns, on the input's index: `name`, `name_pinyin`, `name_script` (`han` / `latin` /
    `mixed`, NULL without letters), and flags `name_is_junk` (test or placeholder),
    `name_is_org` (an organization), `name_title_removed`, `name_traditional` (converted to
    simplified) and `name_reordered` (latin name put surname first).
    """
    return on_uniques(as_text(values), _standardize_unique)
