"""C2 data (JR/T 0171-2020) is masked wherever a quality result shows it."""

from __future__ import annotations

import json

import pytest

from quality.masking import mask_payload, mask_text, mask_value


def test_resident_ids_and_mobiles_are_masked_like_the_api():
    assert mask_value("id_number", "13010219850307123X") == "130102********123X"
    assert mask_value("mobile", "13800138000") == "138****8000"
    assert mask_value("id_number", "E12345678") == "E1*****78"  # a passport, whole


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("客户 13010219850307123X 重复", "客户 130102********123X 重复"),
        ("15-digit 130102850307123", "15-digit 130102********7123"),
        ("tel +86 138-0013-8000", "tel 138****8000"),
        ("8613800138000", "138****8000"),
        ("account 6222021234567890123", "account 622202********0123"),
        ("CRM1000002 on 2026-11-28 10:00:00", "CRM1000002 on 2026-11-28 10:00:00"),
    ],
)
def test_numbers_inside_free_text_are_masked(text, masked):
    assert mask_text(text) == masked


def test_a_value_in_a_declared_column_is_masked_whole_whatever_its_length():
    # Ten digits are not a valid mobile, but in a mobile column they are still C2 data.
    assert mask_value("mobile_no", "1380013800", {"mobile_no": "phone"}) == "138***3800"
    assert mask_value("cert_no", "1101051949123I002X", {"cert_no": "id"}) == "110105********002X"


def test_payloads_keep_keys_and_dates_and_mask_ids_phones_and_bare_numbers():
    payload = json.dumps(
        {
            "cust_no": "C100000003",
            "cert_no": "1101051949123I002X",
            "mobile_no": "1380013800",
            "phone2": "013800138000",
            "birth_dt": "1999-02-04",
            "last_upd_ts": "2015-07-16 09:37:34",
            "_batch_id": "20261128T000000-abcdef12",
        },
        ensure_ascii=False,
    )
    masked = json.loads(mask_payload(payload, {"cert_no": "id"}))
    assert masked == {
        "cust_no": "C100000003",
        "cert_no": "110105********002X",
        "mobile_no": "138***3800",  # nine digits or more alone: masked without a declaration
        "phone2": "013*****8000",
        "birth_dt": "1999-02-04",
        "last_upd_ts": "2015-07-16 09:37:34",
    }
