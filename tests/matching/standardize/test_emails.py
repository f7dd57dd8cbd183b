import pandas as pd

from matching.standardize import normalize_emails


def test_email_is_lower_cased():
    out = normalize_emails(pd.Series([" Zhang.Wei@QQ.COM "]))
    assert out.iloc[0].to_dict() == {"email": "zhang.wei@qq.com", "email_issue": None}


def test_full_width_at_and_ideographic_full_stop_are_read_as_ascii():
    assert normalize_emails(pd.Series(["wei＠163。com"]))["email"].iloc[0] == "wei@163.com"


def test_invalid_syntax_is_null_with_an_issue():
    out = normalize_emails(pd.Series(["zhang.wei@qq", "a..b@x.com", "no at sign", "a b@x.cn"]))
    assert out["email"].tolist() == [None] * 4
    assert out["email_issue"].tolist() == ["invalid"] * 4


def test_empty_is_null_without_issue():
    assert normalize_emails(pd.Series([None])).iloc[0].to_dict() == {
        "email": None,
        "email_issue": None,
    }
