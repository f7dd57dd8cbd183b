"""What customers do: deposit accounts, loan applications and loans, service tickets.

The distributions are tuned so that the marts have something to show at 10,000 people:
about 5% VIP customers (deposits of 500,000 CNY or more), dozens of deposits maturing in the
three days after the business date, loan applications in every state of the pipeline, loans
in every five-tier class, and a backlog of complaints nobody has answered for over a day.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ._arrays import (
    SECONDS_PER_DAY,
    cat,
    child_rng,
    fmt_date,
    fmt_ts,
    guarantee_each,
    num,
    sequential_ids,
    uniform_days,
    uniform_seconds,
    zpad,
)
from .systems import Customers, end_of_day

# Deposits ---------------------------------------------------------------------------------
# Total deposits per customer are log-normal; with this median and spread ~5% of customers
# hold 500,000 CNY or more.
WEALTH_MEDIAN_CNY = 32_000.0
WEALTH_SIGMA = 1.7
RICH_CNY = 100_000.0  # above this, time deposits and wealth products are much more common
TIME_P = (0.30, 0.60)  # (ordinary, rich)
WEALTH_P = (0.12, 0.50)
USD_P = 0.04
DEMAND_CLOSED_P = 0.03
FIXED_CLOSED_P = 0.08  # time deposits and wealth products that matured and were paid out
TIME_PRODUCTS = (
    ("TD03M", 91),
    ("TD06M", 182),
    ("TD1Y", 365),
    ("TD2Y", 730),
    ("TD3Y", 1095),
    ("TD5Y", 1826),
)
TIME_PRODUCT_P = (0.15, 0.15, 0.30, 0.15, 0.15, 0.10)
WEALTH_PRODUCTS = (("WM30D", 30), ("WM90D", 90), ("WM180D", 180), ("WM1Y", 365))
WEALTH_PRODUCT_P = (0.25, 0.35, 0.25, 0.15)
DEMAND, TIME, WEALTH, USD_DEMAND = range(4)
ACCT_TYPE_NAMES = np.array(["DEMAND", "TIME", "WEALTH", "DEMAND"], dtype=object)

# Loans ------------------------------------------------------------------------------------
STATUSES = ("SUBMITTED", "IN_REVIEW", "APPROVED", "REJECTED", "DISBURSED")
STATUS_P = (0.06, 0.10, 0.06, 0.18, 0.60)
STAGE_COLUMNS = ("SUBMITTED_AT", "PRE_REVIEW_AT", "CREDIT_REVIEW_AT", "APPROVED_AT", "DISBURSED_AT")
STAGE_MEDIAN_HOURS = (6.0, 48.0, 24.0, 72.0)  # time to reach each stage after the previous one
PENDING_WINDOW_DAYS = 7  # an open application reached its last stage within this many days
PRODUCTS = ("个人住房贷款", "个人消费贷款", "个人经营贷款", "信用卡分期")
PRODUCT_P = (0.20, 0.40, 0.15, 0.25)
AMOUNT_MEDIAN = np.array([600_000.0, 50_000.0, 300_000.0, 20_000.0])
AMOUNT_SIGMA = np.array([0.5, 0.8, 0.8, 0.7])
TERM_MONTHS = ((120, 180, 240, 300, 360), (12, 24, 36, 60), (12, 24, 36), (6, 12, 24, 36))
RATE_RANGE = np.array([[0.031, 0.049], [0.036, 0.12], [0.035, 0.085], [0.06, 0.15]])
FIVE_TIER = ("正常", "关注", "次级", "可疑", "损失")
FIVE_TIER_P = (0.90, 0.05, 0.02, 0.015, 0.015)
APPS_EXTRA_MEAN = 0.4  # applications per borrower: 1 + Poisson(0.4), at most 4

# Service tickets --------------------------------------------------------------------------
CHANNELS = ("网点", "电话银行", "手机银行", "微信银行")
CHANNEL_P = (0.25, 0.30, 0.30, 0.15)
RESPONSE_MEDIAN_MIN = np.array([15.0, 3.0, 90.0, 45.0])  # by channel
CATEGORIES = ("投诉", "咨询", "地址变更", "挂失")
CATEGORY_P = (0.15, 0.55, 0.12, 0.18)
COMPLAINT = 0
RESOLVE_MEDIAN_MIN = np.array([2880.0, 20.0, 1440.0, 60.0])  # by category
TICKETS_PER_CUSTOMER = 1.2
HISTORY_DAYS = 730
UNANSWERED_COMPLAINT_P = 0.03  # complaints left without any response, 1-10 days old
CSAT_GIVEN_P = 0.65
CSAT_P_COMPLAINT = (0.25, 0.20, 0.25, 0.20, 0.10)
CSAT_P_OTHER = (0.02, 0.03, 0.10, 0.35, 0.50)


def _days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype("timedelta64[D]")


def _seconds(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype("timedelta64[s]")


def _branch_digits(branch: np.ndarray) -> np.ndarray:
    return pd.Series(branch, dtype=object).str[1:].to_numpy(dtype=object)


def deposit_accounts(core: Customers, seed: int, as_of: date) -> pd.DataFrame:
    rng = child_rng(seed, "deposit-accounts")
    n = len(core.person)
    real = ~core.junk
    today = np.datetime64(as_of, "D")
    end = end_of_day(as_of)

    wealth = rng.lognormal(np.log(WEALTH_MEDIAN_CNY), WEALTH_SIGMA, n)
    rich = (wealth >= RICH_CNY).astype(int)
    has = {
        TIME: real & (rng.random(n) < np.take(TIME_P, rich)),
        WEALTH: real & (rng.random(n) < np.take(WEALTH_P, rich)),
        USD_DEMAND: real & (rng.random(n) < USD_P),
    }
    cust = np.concatenate([np.arange(n), *(np.flatnonzero(h) for h in has.values())])
    kind = np.concatenate([np.full(n, DEMAND), *(np.full(int(h.sum()), k) for k, h in has.items())])
    m = len(cust)
    since = core.since[cust]

    product = np.full(m, "DD01", dtype=object)
    term = np.zeros(m, dtype=np.int64)
    for k, table, p in (
        (TIME, TIME_PRODUCTS, TIME_PRODUCT_P),
        (WEALTH, WEALTH_PRODUCTS, WEALTH_PRODUCT_P),
    ):
        rows = np.flatnonzero(kind == k)
        pick = rng.choice(len(table), size=len(rows), p=p)
        product[rows] = np.array([c for c, _ in table], dtype=object)[pick]
        term[rows] = np.array([d for _, d in table])[pick]
    product[kind == USD_DEMAND] = "DD02"

    # Deposits are rolled over: an active one matures some time within its next term, so
    # maturities spread evenly and a steady share falls in the next three days.
    fixed = term > 0
    maturity = today + _days(np.floor(rng.random(m) * term).astype(np.int64) + 1)
    open_dt = np.where(fixed, maturity - _days(term), since)
    too_early = fixed & (open_dt < since)
    open_dt[too_early] = uniform_days(rng, since[too_early], np.full(int(too_early.sum()), today))
    maturity[too_early] = open_dt[too_early] + _days(term[too_early])
    # Some matured in the past and were paid out instead of rolled over.
    paid_out = fixed & (rng.random(m) < FIXED_CLOSED_P)
    paid_out_maturity = today - _days(rng.integers(1, 1_000, m))
    paid_out &= paid_out_maturity - _days(term) >= since
    maturity[paid_out] = paid_out_maturity[paid_out]
    open_dt[paid_out] = maturity[paid_out] - _days(term[paid_out])
    usd = kind == USD_DEMAND
    open_dt[usd] = uniform_days(rng, since[usd], np.full(int(usd.sum()), today))

    closed = np.where(fixed, maturity <= today, rng.random(m) < DEMAND_CLOSED_P)
    closed &= ~((kind == DEMAND) & core.junk[cust])

    # Split each customer's wealth over their CNY accounts.
    weight = np.select(
        [kind == DEMAND, kind == TIME, kind == WEALTH],
        [rng.uniform(0.05, 0.6, m), rng.uniform(0.5, 2.0, m), rng.uniform(0.8, 2.5, m)],
        0.0,
    )
    weight_sum = np.bincount(cust, weights=weight, minlength=n)
    balance = wealth[cust] * weight / np.maximum(weight_sum[cust], 1e-9)
    balance[usd] = rng.lognormal(np.log(3_000.0), 1.0, int(usd.sum()))
    balance[closed | core.junk[cust]] = 0.0

    opened_s = open_dt.astype("datetime64[s]")
    touched = np.where(
        closed & fixed,
        maturity.astype("datetime64[s]") + _seconds(rng.integers(8 * 3600, 18 * 3600, m)),
        end - _seconds(rng.integers(0, 60 * SECONDS_PER_DAY, m)),
    )
    touched = np.clip(np.maximum(touched, opened_s), None, end)

    order = np.lexsort((rng.random(m), open_dt))
    branch = core.branch[cust]
    line = np.where(kind == USD_DEMAND, 1, kind + 1)
    seq = zpad(sequential_ids(rng, m, 100_000_000_000, max_gap=5), 12)
    frame = pd.DataFrame(
        {
            # 62 + branch + product line (1 demand, 2 time, 3 wealth) + sequence: 19 digits.
            "acct_no": cat("62", _branch_digits(branch[order]), num(line[order]), seq),
            "cust_no": core.frame["cust_no"].to_numpy(dtype=object)[cust[order]],
            "acct_type": ACCT_TYPE_NAMES[kind[order]],
            "product_cd": product[order],
            "currency": np.where(usd[order], "USD", "CNY").astype(object),
            "balance": np.round(balance[order], 2),
            "open_dt": fmt_date(open_dt[order], "iso"),
            "maturity_dt": fmt_date(np.where(fixed, maturity, np.datetime64("NaT"))[order], "iso"),
            "branch_no": branch[order],
            "status": np.where(closed[order], "CLOSED", "ACTIVE").astype(object),
            "last_upd_ts": fmt_ts(touched[order], "space"),
        }
    )
    return frame


def loans(credit: Customers, seed: int, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LOAN_APPLICATION and LOAN tables."""
    rng = child_rng(seed, "loans")
    end = end_of_day(as_of)
    today = np.datetime64(as_of, "D")
    borrowers = np.flatnonzero(~credit.junk)
    count = 1 + np.minimum(rng.poisson(APPS_EXTRA_MEAN, len(borrowers)), 3)
    who = np.repeat(borrowers, count)
    m = len(who)

    status = guarantee_each(rng, rng.choice(len(STATUSES), size=m, p=STATUS_P), len(STATUSES))
    product = rng.choice(len(PRODUCTS), size=m, p=PRODUCT_P)
    amount = np.round(rng.lognormal(np.log(AMOUNT_MEDIAN[product]), AMOUNT_SIGMA[product]), -2)
    amount = np.maximum(amount, 1_000.0)

    # Stages reached: 1 = submitted … 5 = disbursed. Rejections happen at pre-review or at
    # credit review; an application under review may have passed pre-review only.
    reached = np.select(
        [status == 0, status == 1, status == 2, status == 3],
        [1, rng.integers(2, 4, m), 4, rng.integers(2, 4, m)],
        5,
    )
    hours = rng.lognormal(np.log(STAGE_MEDIAN_HOURS), 0.8, (m, 4))
    offsets = np.zeros((m, 5), dtype=np.int64)
    offsets[:, 1:] = np.cumsum((hours * 3600).astype(np.int64), axis=1)
    last_offset = offsets[np.arange(m), reached - 1]
    pending = status <= 2
    latest_start = end - _seconds(last_offset)
    since = credit.since[who].astype("datetime64[s]")
    submitted = np.where(
        pending,
        end - _seconds(rng.integers(0, PENDING_WINDOW_DAYS * SECONDS_PER_DAY, m) + last_offset),
        # A borrower who joined days ago cannot have finished a weeks-long process since:
        # their finished application started before they became a borrower record.
        np.minimum(uniform_seconds(rng, since, latest_start), latest_start),
    )
    stages = submitted[:, None] + offsets.astype("timedelta64[s]")
    not_reached = np.arange(5)[None, :] >= reached[:, None]
    stages[not_reached] = np.datetime64("NaT")

    app_order = np.lexsort((rng.random(m), submitted))
    app_id = np.empty(m, dtype=object)
    app_id[app_order] = cat("LA", zpad(sequential_ids(rng, m, 10_000_000), 8))
    borrower_id = credit.frame["BORROWER_ID"].to_numpy(dtype=object)[who]
    branch = credit.branch[who]
    apps = (
        pd.DataFrame(
            {
                "APP_ID": app_id,
                "BORROWER_ID": borrower_id,
                "PRODUCT": np.array(PRODUCTS, dtype=object)[product],
                "AMOUNT": amount,
                "BRANCH_NO": branch,
                **{col: fmt_ts(stages[:, j], "space") for j, col in enumerate(STAGE_COLUMNS)},
                "STATUS": np.array(STATUSES, dtype=object)[status],
            }
        )
        .iloc[app_order]
        .reset_index(drop=True)
    )

    # Loans: one per disbursed application.
    d = np.flatnonzero(status == 4)
    k = len(d)
    prod = product[d]
    start = stages[d, 4].astype("datetime64[D]")
    term_months = np.zeros(k, dtype=np.int64)
    for p, options in enumerate(TERM_MONTHS):
        rows = np.flatnonzero(prod == p)
        term_months[rows] = rng.choice(options, size=len(rows))
    end_date = start + _days(np.round(term_months * 30.44))
    principal = np.maximum(np.round(amount[d] * rng.uniform(0.7, 1.0, k), -2), 1_000.0)
    rate = np.round(rng.uniform(RATE_RANGE[prod, 0], RATE_RANGE[prod, 1]), 4)
    tier = guarantee_each(rng, rng.choice(len(FIVE_TIER), size=k, p=FIVE_TIER_P), len(FIVE_TIER))
    life = np.maximum((end_date - start).astype(np.int64), 1)
    left = np.clip((end_date - today).astype(np.int64) / life, 0.0, 1.0)
    performing = tier <= 1
    outstanding = np.where(
        performing,
        principal * left * rng.uniform(0.95, 1.0, k),
        # A borrower in default stopped paying part-way: much of the principal is still owed.
        principal * rng.uniform(0.5, 1.0, k),
    )
    loan_order = np.lexsort((rng.random(k), start))
    loan_id = np.empty(k, dtype=object)
    loan_id[loan_order] = cat("LN", zpad(sequential_ids(rng, k, 10_000_000), 8))
    loan = (
        pd.DataFrame(
            {
                "LOAN_ID": loan_id,
                "APP_ID": app_id[d],
                "BORROWER_ID": borrower_id[d],
                "PRINCIPAL": principal,
                "OUTSTANDING": np.round(outstanding, 2),
                "RATE": rate,
                "START_DATE": fmt_date(start, "iso"),
                "END_DATE": fmt_date(end_date, "iso"),
                "FIVE_TIER": np.array(FIVE_TIER, dtype=object)[tier],
                "BRANCH_NO": branch[d],
            }
        )
        .iloc[loan_order]
        .reset_index(drop=True)
    )
    return apps, loan


def service_tickets(crm: Customers, seed: int, as_of: date) -> pd.DataFrame:
    rng = child_rng(seed, "service-tickets")
    end = end_of_day(as_of)
    midnight = np.datetime64(as_of, "s")
    customers = np.flatnonzero(~crm.junk)
    who = np.repeat(customers, rng.poisson(TICKETS_PER_CUSTOMER, len(customers)))
    m = len(who)
    channel = rng.choice(len(CHANNELS), size=m, p=CHANNEL_P)
    category = rng.choice(len(CATEGORIES), size=m, p=CATEGORY_P)

    day = np.datetime64(as_of, "D") - _days(rng.integers(0, HISTORY_DAYS, m))
    # Office-hours-heavy time of day; branches only take tickets while open.
    hour = np.where(
        channel == 0, rng.uniform(9.0, 17.0, m), np.clip(rng.normal(14.0, 4.0, m), 0.0, 23.99)
    )
    created = day.astype("datetime64[s]") + _seconds(hour * 3600)
    created = np.minimum(created, end)

    complaint = category == COMPLAINT
    response_min = rng.lognormal(
        np.log(RESPONSE_MEDIAN_MIN[channel] * np.where(complaint, 3.0, 1.0)), 1.6
    )
    resolve_min = rng.lognormal(np.log(RESOLVE_MEDIAN_MIN[category]), 1.2)
    responded = created + _seconds(np.round(response_min * 60) + 30)
    resolved = responded + _seconds(np.round(resolve_min * 60) + 60)

    # The backlog a service KPI must flag: complaints nobody answered, older than a day.
    ignored = complaint & (rng.random(m) < UNANSWERED_COMPLAINT_P)
    if complaint.any() and not ignored.any():
        ignored[rng.choice(np.flatnonzero(complaint))] = True
    n_ignored = int(ignored.sum())
    created[ignored] = midnight - _seconds(rng.integers(25 * 3600, 10 * SECONDS_PER_DAY, n_ignored))
    responded[ignored] = end + np.timedelta64(1, "s")

    waiting = responded > end
    open_ = ~waiting & (resolved > end)
    responded[waiting] = np.datetime64("NaT")
    resolved[waiting | open_] = np.datetime64("NaT")
    state = np.where(waiting, "待响应", np.where(open_, "处理中", "已解决")).astype(object)

    done = ~waiting & ~open_
    rated = done & (rng.random(m) < CSAT_GIVEN_P)
    score = (
        np.where(
            complaint,
            rng.choice(5, size=m, p=CSAT_P_COMPLAINT),
            rng.choice(5, size=m, p=CSAT_P_OTHER),
        )
        + 1
    )
    csat = np.full(m, None, dtype=object)
    csat[rated] = num(score[rated])

    order = np.lexsort((rng.random(m), created))
    ticket_id = cat("T", zpad(sequential_ids(rng, m, 100_000_000), 9))
    frame = pd.DataFrame(
        {
            "工单编号": ticket_id,
            "客户编号": crm.frame["客户编号"].to_numpy(dtype=object)[who[order]],
            "渠道": np.array(CHANNELS, dtype=object)[channel[order]],
            "类别": np.array(CATEGORIES, dtype=object)[category[order]],
            "创建时间": fmt_ts(created[order], "space"),
            "首次响应时间": fmt_ts(responded[order], "space"),
            "解决时间": fmt_ts(resolved[order], "space"),
            "满意度": csat[order],
            "客户经理": crm.frame["客户经理"].to_numpy(dtype=object)[who[order]],
            "所属网点": crm.branch[who[order]],
            "状态": state[order],
        }
    )
    return frame
