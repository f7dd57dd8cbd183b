import pandas as pd
import pytest

from matching.standardize import parse_addresses
from matching.standardize.addresses import admin_divisions


def one(value: str | None) -> dict:
    return parse_addresses(pd.Series([value])).iloc[0].to_dict()


def test_abbreviated_province_and_city_are_restored():
    assert one("河北石家庄长安区中山路1号") == {
        "address": "河北省石家庄市长安区中山路1号",
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "address_issue": None,
    }


def test_whitespace_is_removed_and_full_width_digits_become_ascii():
    assert one("河北省 石家庄市 长安区 中山路１２号")["address"] == "河北省石家庄市长安区中山路12号"


def test_district_in_two_cities_is_resolved_by_the_city():
    # 桥西区 exists in 石家庄 (130104) and 张家口 (130703).
    assert one("石家庄桥西区自强路1号")["adcode"] == "130104"
    assert one("张家口桥西区明德街3号")["adcode"] == "130703"


def test_ambiguous_district_without_city_keeps_the_name_but_no_code():
    row = one("桥西区自强路1号")
    assert (row["district"], row["city"], row["adcode"]) == ("桥西区", None, None)


def test_unique_district_alone_fills_city_and_province():
    row = one("长安区中山路1号")
    assert (row["province"], row["city"], row["address"]) == (
        "河北省",
        "石家庄市",
        "河北省石家庄市长安区中山路1号",
    )


def test_municipality_is_written_once():
    row = one("北京朝阳区建国路8号")
    assert (row["address"], row["province"], row["city"], row["adcode"]) == (
        "北京市朝阳区建国路8号",
        "北京市",
        "北京市",
        "110105",
    )


def test_country_prefix_is_dropped():
    assert one("中国河北省石家庄市长安区中山路1号")["address"] == "河北省石家庄市长安区中山路1号"


def test_city_wins_over_a_contradicting_province():
    row = one("河南石家庄长安区中山路1号")
    assert (row["province"], row["address_issue"]) == ("河北省", "inconsistent")


def test_district_not_under_the_city_stays_in_the_street_text():
    # 桥东区 is in 张家口, not in 石家庄: the city-level code is all we know.
    row = one("石家庄桥东区胜利路1号")
    assert (row["address"], row["district"], row["adcode"], row["address_issue"]) == (
        "河北省石家庄市桥东区胜利路1号",
        None,
        "130100",
        "inconsistent",
    )


def test_province_only_gets_the_province_code():
    assert one("河北省某县某村")["adcode"] == "130000"


def test_address_without_known_divisions_is_kept_and_flagged():
    row = one("中山路1号")
    assert (row["address"], row["province"], row["address_issue"]) == (
        "中山路1号",
        None,
        "unresolved",
    )


def test_long_address_keeps_all_of_its_text():
    # Parsing only looks at the first 40 characters; the rest must be appended unchanged.
    street = "很长的街道名称" * 10 + "1号"
    assert one("河北石家庄长安区" + street)["address"] == "河北省石家庄市长安区" + street


def test_empty_address_is_null():
    assert one("  ")["address"] is None


@pytest.mark.parametrize(
    ("raw", "address", "district"),
    [
        # The province's one-character abbreviation, full-width digits, building-unit-room.
        (
            "冀保定满城区育才街５３５号银行宿舍２４号楼５－１０３",
            "河北省保定市满城区育才街535号银行宿舍24栋5单元103",
            "满城区",
        ),
        ("京朝阳区建国路5-2-301室", "北京市朝阳区建国路5栋2单元301", "朝阳区"),
        # 津南区 is a district name, not 津 + 南区: left alone (and unresolved here).
        ("津南区幸福路1号", "津南区幸福路1号", None),
    ],
)
def test_province_abbreviations_and_flat_forms_are_read(raw, address, district):
    row = parse_addresses(pd.Series([raw])).iloc[0]
    assert (row["address"], row["district"]) == (address, district)


@pytest.mark.parametrize(
    "written",
    ["24号楼5单元103室", "24幢5单元103", "24#5-103", "24栋5-103", "24号楼5-103", "24-5-103"],
)
def test_building_unit_room_written_any_way_give_one_address(written):
    row = parse_addresses(pd.Series([f"河北省石家庄市长安区育才街535号{written}"])).iloc[0]
    assert row["address"] == "河北省石家庄市长安区育才街535号24栋5单元103"


def test_one_address_alone_parses_as_it_does_in_a_column():
    """`POST /match` parses one address alone; the batch parses columns of them. Written
    forms of every level (full, suffix dropped, a division suffix or street text after),
    shorter and longer than each other, must give the same row either way."""
    table = admin_divisions().sample(30, random_state=7)
    texts = []
    for province, city, district in table[["province", "city", "district"]].itertuples(index=False):
        short_city = city[:-1] if len(city) > 2 else city
        texts += [
            f"{province}{city}{district}朝阳路1号",
            f"{short_city}{district}5-2-301",
            f"{short_city}市{district}",
            f"{district}人民路8号",
            f"{province[:2]}{short_city}区",
            district,
        ]
    column = parse_addresses(pd.Series(texts, dtype=object))
    for row, text in enumerate(texts):
        alone = parse_addresses(pd.Series([text], dtype=object)).iloc[0]
        assert alone.to_dict() == column.iloc[row].to_dict(), text
