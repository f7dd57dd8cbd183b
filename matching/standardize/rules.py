"""The catalogue of every standardization rule: the one place rule ids are spelled.

Field modules import the `Rule` constants they raise; `party.py` counts them into
`issue_counts` and writes quarantine rule ids from here. The quality report lists
`rule_catalogue()` so a reader sees, for every id in the counts, what it checks and an example.

Two kinds of rule:
- `field`: the row keeps its good fields, the bad one becomes NULL (or is corrected) and the
  issue is counted.
- `quarantine`: the row cannot become a usable party record and goes to `mdm.quarantine`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, get_args

import pandas as pd

# The data-quality dimensions (DAMA UK's six), one vocabulary for the standardization rules
# here and the quality rules (quality.catalogue). A value put into the standard form (a title
# removed, traditional characters simplified, an old ID upgraded) counts under validity: the
# value as written did not conform to the standard.
Dimension = Literal[
    "completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy"
]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
Kind = Literal["field", "quarantine"]


@dataclass(frozen=True)
class Rule:
    id: str
    field: str
    dimension: Dimension
    kind: Kind
    checks: str
    example_input: str
    example_outcome: str


RULES: list[Rule] = []


def _rule(
    id: str,
    field: str,
    dimension: Dimension,
    checks: str,
    example_input: str,
    example_outcome: str,
    kind: Kind = "field",
) -> Rule:
    rule = Rule(id, field, dimension, kind, checks, example_input, example_outcome)
    if any(r.id == id for r in RULES):
        raise ValueError(f"duplicate rule id {id!r}")
    RULES.append(rule)
    return rule


# --- quarantine: the row is not a usable party record ------------------------------------
MISSING_KEY = _rule(
    "missing_key",
    "source_record_id",
    "completeness",
    "The source key column is empty, so the record cannot be referenced.",
    "cust_no=''",
    "quarantined",
    kind="quarantine",
)
DUPLICATE_KEY = _rule(
    "duplicate_key",
    "source_record_id",
    "uniqueness",
    "The key occurs more than once in the batch; the most recently updated row is kept "
    "(the later row on a tie), the others are quarantined.",
    "C000000001 twice",
    "older row quarantined",
    kind="quarantine",
)
JUNK_NAME = _rule(
    "junk_name",
    "name",
    "validity",
    "Test or placeholder name: contains 测试/TEST/DUMMY, is a placeholder (无, 不详, 未知, "
    "某某, NULL, N/A…), a stock name (张三, 李四, 王五, 赵六…), a withheld one (张某, 李某某), "
    "a title alone (先生, 女士), has no letters (digits or punctuation only) or is one letter "
    "repeated.",
    "测试用户01",
    "quarantined",
    kind="quarantine",
)
ORGANIZATION_NAME = _rule(
    "organization_name",
    "name",
    "validity",
    "The name is an organization (有限公司, 公司, 银行, 集团, 中心, 学校, 医院, LTD…); this "
    "pipeline masters people only.",
    "河北某某贸易有限公司",
    "quarantined",
    kind="quarantine",
)
NO_NAME_NO_ID = _rule(
    "no_name_no_id",
    "name",
    "completeness",
    "Neither a name nor a usable identifier (a valid resident ID, another document number or a "
    "valid mobile), so nothing could ever match it.",
    "name='', cert_no='', mobile=''",
    "quarantined",
    kind="quarantine",
)

# --- name --------------------------------------------------------------------------------
NAME_MISSING = _rule(
    "name_missing",
    "name",
    "completeness",
    "No name after removing spaces and titles.",
    "'  '",
    "name NULL",
)
NAME_TITLE_REMOVED = _rule(
    "name_title_removed",
    "name",
    "validity",
    "A courtesy title (先生, 女士, 小姐, 夫人; MR, MRS, MS, MISS, DR) was removed.",
    "张 伟先生",
    "张伟",
)
NAME_TRADITIONAL = _rule(
    "name_traditional",
    "name",
    "validity",
    "Traditional characters converted to simplified (OpenCC t2s).",
    "張偉",
    "张伟",
)
NAME_REORDERED = _rule(
    "name_reordered",
    "name",
    "validity",
    "A latin name written given-name first was put surname first.",
    "Wei Zhang",
    "ZHANG WEI",
)

# --- identity document -------------------------------------------------------------------
ID_MISSING = _rule(
    "id_missing",
    "id_number",
    "completeness",
    "No identity document number.",
    "''",
    "id_number NULL, id_issue missing",
)
ID_BAD_CHARACTERS = _rule(
    "id_bad_characters",
    "id_number",
    "validity",
    "A resident ID holds characters other than digits and a final X.",
    "1101051949123I002X",
    "id_valid false, id_issue bad_characters",
)
ID_BAD_LENGTH = _rule(
    "id_bad_length",
    "id_number",
    "validity",
    "A resident ID is neither 18 nor 15 characters long.",
    "11010519491231002",
    "id_valid false, id_issue bad_length",
)
ID_BAD_AREA_CODE = _rule(
    "id_bad_area_code",
    "id_number",
    "validity",
    "The first digit of the area code is not 1-8 (GB/T 2260 regions).",
    "91010519491231002X",
    "id_valid false, id_issue bad_area_code",
)
ID_BAD_BIRTH_DATE = _rule(
    "id_bad_birth_date",
    "id_number",
    "validity",
    "The embedded birth date is not a real date, is in the future or before 1900.",
    "110105194913310020",
    "id_valid false, id_issue bad_birth_date",
)
ID_BAD_CHECK_DIGIT = _rule(
    "id_bad_check_digit",
    "id_number",
    "validity",
    "The GB 11643-1999 check digit does not match the first 17 digits.",
    "110105194912310021",
    "id_valid false, id_issue bad_check_digit",
)
ID_UPGRADED_FROM_15 = _rule(
    "id_upgraded_from_15",
    "id_number",
    "validity",
    "A 15-digit first-generation ID was upgraded to 18 digits ('19' inserted, check digit "
    "computed); still valid.",
    "130102850307123",
    "130102198503071235, id_issue upgraded_from_15",
)
ID_MASKED = _rule(
    "id_masked",
    "id_number",
    "validity",
    "A resident ID printed partially masked (15 or 18 positions, masked ones as * # ● •) is "
    "kept with its mask as `*`, never valid and never checked; its visible digits (area, "
    "birth date, tail) still count as evidence in matching.",
    "440************234",
    "440************234, id_issue masked",
)
ID_NOT_RESIDENT_ID = _rule(
    "id_not_resident_id",
    "id_number",
    "validity",
    "The document is not a resident ID (passport, HK/Macao or Taiwan travel permit, HK/Macao/"
    "Taiwan residence permit, foreign permanent residence card, other), so it cannot be "
    "verified; kept upper-cased without spaces, id_valid false.",
    "e 1234 5678 (passport)",
    "E12345678, id_issue not_resident_id",
)
ID_TYPE_UNKNOWN = _rule(
    "id_type_unknown",
    "id_type",
    "validity",
    "The source's document type code is not in `id_type_codes` (or the identifiers table's "
    "`type_codes`); a code mapped to `unknown` is not counted: the number's shape decides.",
    "cert_type='99'",
    "id_type other",
)
ID_TYPE_CORRECTED = _rule(
    "id_type_corrected",
    "id_type",
    "consistency",
    "The source's type code (or its default) says resident ID, but no resident ID has this "
    "number's shape: an HK/Macao/Taiwan residence permit (810000/820000/830000…), a foreign "
    "permanent residence card (9…, or 3 letters + 12 digits), an HK/Macao permit (H/M + 8 or "
    "10 digits) or a passport (E12345678); the shape's type is taken.",
    "cert_type='01', cert_no='810000199001011230'",
    "id_type hmt_residence_permit, id_issue not_resident_id",
)

# --- birth date and gender ----------------------------------------------------------------
BIRTH_DATE_MISSING = _rule(
    "birth_date_missing",
    "birth_date",
    "completeness",
    "No birth date from the source nor from a valid resident ID.",
    "''",
    "birth_date NULL",
)
BIRTH_DATE_UNPARSEABLE = _rule(
    "birth_date_unparseable",
    "birth_date",
    "validity",
    "The text matches none of the known date formats.",
    "07/03/85?",
    "birth_date NULL",
)
BIRTH_DATE_IMPOSSIBLE = _rule(
    "birth_date_impossible",
    "birth_date",
    "validity",
    "A known format but not a real calendar date.",
    "1985-02-30",
    "birth_date NULL",
)
BIRTH_DATE_FUTURE = _rule(
    "birth_date_future",
    "birth_date",
    "validity",
    "A birth date after the run date.",
    "2199-01-01",
    "birth_date NULL",
)
BIRTH_DATE_TOO_OLD = _rule(
    "birth_date_too_old",
    "birth_date",
    "validity",
    "A birth date before 1900-01-01.",
    "1800-01-01",
    "birth_date NULL",
)
BIRTH_DATE_ID_MISMATCH = _rule(
    "birth_date_id_mismatch",
    "birth_date",
    "consistency",
    "The birth date is a slip of the valid 18-digit resident ID's (day and month swapped, one "
    "digit off, or within 60 days: a lunar-calendar birthday); the ID's date is taken and the "
    "stated one kept in birth_date_stated.",
    "19850308 with ID …19850307…",
    "birth_date 1985-03-07",
)
ID_CONFLICT = _rule(
    "id_conflict",
    "id_number",
    "consistency",
    "The valid resident ID states a birth date far from the record's own (not a slip), or "
    "another gender: the ID is suspected to be someone else's, e.g. a relative's. The stated "
    "birth date and gender are kept and matching does not take an agreement on this ID as "
    "proof of identity. (When most of a batch's genders disagree with the IDs, the source's "
    "gender codes are taken to be mis-mapped instead.)",
    "born 1958-04-02 with ID …19860915…",
    "birth_date 1958-04-02, id_conflict true",
)
BIRTH_DATE_FROM_ID = _rule(
    "birth_date_from_id",
    "birth_date",
    "completeness",
    "A missing or unusable birth date filled from the valid resident ID.",
    "'' with ID …19850307…",
    "birth_date 1985-03-07",
)
GENDER_UNKNOWN_CODE = _rule(
    "gender_unknown_code",
    "gender",
    "validity",
    "A gender value not in the source's `gender_codes` (nor M/F/男/女); a code mapped to "
    "`unknown` gives NULL without being counted.",
    "'9'",
    "gender NULL",
)
GENDER_ID_MISMATCH = _rule(
    "gender_id_mismatch",
    "gender",
    "consistency",
    "The gender disagrees with the valid 18-digit resident ID (17th digit odd = M) in a batch "
    "where most genders do: the source's codes are mis-mapped, and the ID's is taken. (A lone "
    "disagreement is an id_conflict instead.)",
    "F with ID …0307123…",
    "gender M",
)
GENDER_FROM_ID = _rule(
    "gender_from_id",
    "gender",
    "completeness",
    "A missing gender filled from the valid resident ID.",
    "'' with ID …0307123…",
    "gender M",
)
ID_UNVERIFIED_MISMATCH = _rule(
    "id_unverified_mismatch",
    "id_number",
    "consistency",
    "The birth date or gender disagrees with a resident ID upgraded from 15 digits; with no "
    "check digit to prove the ID, the stated values are kept.",
    "1985-03-08 with ID 130102850307123",
    "birth_date 1985-03-08",
)

# --- phones and email ---------------------------------------------------------------------
MOBILE_MISSING = _rule(
    "mobile_missing",
    "mobile",
    "completeness",
    "No mobile number.",
    "''",
    "mobile NULL",
)
MOBILE_INVALID = _rule(
    "mobile_invalid",
    "mobile",
    "validity",
    "The mobile column holds no usable number (not 1[3-9] + 9 digits, not a landline).",
    "1380013800",
    "mobile NULL",
)
MOBILE_PLACEHOLDER = _rule(
    "mobile_placeholder",
    "mobile",
    "validity",
    "A placeholder mobile typed for a customer who gave none (the last eight digits all the "
    "same): no one's number, it would join strangers and could survive into a golden record.",
    "13800000000",
    "mobile NULL",
)
MOBILE_NOT_MOBILE = _rule(
    "mobile_not_mobile",
    "mobile",
    "validity",
    "The mobile column holds a landline, service or foreign number; moved to phone_other.",
    "0311-85551234",
    "mobile NULL, phone_other 0311-85551234",
)
PHONE_INVALID = _rule(
    "phone_invalid",
    "phone_other",
    "validity",
    "The phone column holds no usable number.",
    "12345",
    "phone_other NULL",
)
EMAIL_INVALID = _rule(
    "email_invalid",
    "email",
    "validity",
    "Not a syntactically valid address (local@domain.tld).",
    "zhang.wei@qq",
    "email NULL",
)

# --- address ------------------------------------------------------------------------------
ADDRESS_MISSING = _rule(
    "address_missing",
    "address",
    "completeness",
    "No address.",
    "''",
    "address NULL",
)
ADDRESS_UNRESOLVED = _rule(
    "address_unresolved",
    "address",
    "validity",
    "No province, city or district of the reference table found at the start of the address.",
    "中山路1号",
    "address kept, province/city/district/adcode NULL",
)
ADDRESS_INCONSISTENT = _rule(
    "address_inconsistent",
    "address",
    "consistency",
    "The province written does not contain the city written; the city (more specific) wins.",
    "河南省石家庄市长安区",
    "河北省石家庄市长安区",
)

# --- source timestamp ---------------------------------------------------------------------
UPDATED_AT_MISSING = _rule(
    "updated_at_missing",
    "source_updated_at",
    "completeness",
    "The mapped update timestamp is empty: survivorship cannot tell this record's recency.",
    "''",
    "source_updated_at NULL",
)
UPDATED_AT_UNPARSEABLE = _rule(
    "updated_at_unparseable",
    "source_updated_at",
    "validity",
    "The update timestamp matches none of the known formats or is no calendar time (a zone "
    "such as +08 is read and converted to China time).",
    "2024-13-01 10:00",
    "source_updated_at NULL",
)

# --- identifiers table ----------------------------------------------------------------------
IDENTIFIER_WITHOUT_PARTY = _rule(
    "identifier_without_party",
    "other_ids",
    "consistency",
    "A row of the source's identifiers table whose owner key is in no row of its party table "
    "(counted over the identifier rows): the document belongs to nobody mastered.",
    "T_CUST_CERT.CUST_ID='C999' with no such customer",
    "row not used",
)

#: id_issue code written in the record -> the rule counted for it.
ID_ISSUE_RULES: dict[str, Rule] = {
    "missing": ID_MISSING,
    "bad_characters": ID_BAD_CHARACTERS,
    "bad_length": ID_BAD_LENGTH,
    "bad_area_code": ID_BAD_AREA_CODE,
    "bad_birth_date": ID_BAD_BIRTH_DATE,
    "bad_check_digit": ID_BAD_CHECK_DIGIT,
    "upgraded_from_15": ID_UPGRADED_FROM_15,
    "not_resident_id": ID_NOT_RESIDENT_ID,
    "masked": ID_MASKED,
}

#: quarantine rules in the order they are tried; a row gets the first one that applies.
QUARANTINE_ORDER: tuple[Rule, ...] = (
    MISSING_KEY,
    DUPLICATE_KEY,
    JUNK_NAME,
    ORGANIZATION_NAME,
    NO_NAME_NO_ID,
)


def rule_catalogue() -> pd.DataFrame:
    """Every rule as one row: id, field, dimension, kind, checks, example_input, example_outcome."""
    return pd.DataFrame([asdict(r) for r in RULES])
