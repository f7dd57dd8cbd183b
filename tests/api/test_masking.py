"""Masking and lookup-key normalization (pure functions)."""

from __future__ import annotations

import pytest

from golden_record_api.masking import MASKS, mask_id_number, mask_phone
from golden_record_api.rate_limit import TokenBuckets


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13010219850307003X", "130102********003X"),
        ("130102850307003", "130102********7003"),
        ("E12345678", "E1*****78"),
        ("123", "***"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_id_number(value: str | None, masked: str | None) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("031187654321", "031*****4321"),
        ("12345", "*****"),
        (None, None),
    ],
)
def test_mask_phone(value: str | None, masked: str | None) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        ("name", "张伟", "张*"),
        ("name", "欧阳婧", "欧**"),
        ("name", "张", "张*"),  # one character still hides that it was one
        ("pinyin", "zhang wei", "zhang *"),
        ("pinyin", "ouyang", "o*****"),
        ("email", "zhangwei@example.com", "z***@example.com"),
        ("adcode", "130102", "130100"),
        ("adcode", "13", "**"),
        ("resident_id", "13010219850307003X", "130102********003X"),
        ("phone", "13800138000", "138****8000"),
        ("name", None, None),
    ],
)
def test_each_policy_mask(mask: str, value: str | None, masked: str | None) -> None:
    assert MASKS[mask](value, {}) == masked


def test_a_masked_address_keeps_province_and_city_only() -> None:
    row = {"address": "河北省石家庄市长安区建设北大街1号", "province": "河北省", "city": "石家庄市"}

    assert MASKS["address"](row["address"], row) == "河北省石家庄市"
    assert MASKS["address"]("某地某号", {"province": None, "city": None}) is None


def test_token_buckets_allow_a_burst_then_refill_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=6, burst=2, clock=lambda: now[0])

    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(10.0)  # one token per 10 s
    assert buckets.take("b") == 0.0  # every principal has its own bucket
    now[0] += 10
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
