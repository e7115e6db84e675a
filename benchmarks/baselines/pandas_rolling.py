"""The customer daily features with a straightforward pandas groupby-rolling.

What a data scientist writes first: aggregate the transactions per customer and day, reindex
each customer onto every day, then ``groupby(customer).rolling(k).sum()/max()`` per window;
pandas has no rolling distinct count, so each (customer, merchant, day) presence is repeated
over the days it stays in a window and counted with ``nunique``; ``ffill(limit=…)`` for the
latest transaction, ``merge_asof`` for the chargebacks. Vectorised pandas throughout (no
Python loop over customers), with the same definitions and rounding as the project.
"""

import datetime as dt

import numpy as np
import pandas as pd

LOOKBACK_DAYS = 30
WINDOWS = (1, 7, 30)
KEY = "customer_id"


def _rolling(grid: pd.DataFrame, column: str, days: int, how: str) -> pd.Series:
    rolled = getattr(grid.groupby(KEY)[column].rolling(days, min_periods=1), how)()
    return rolled.reset_index(level=0, drop=True)


def _distinct(
    tx: pd.DataFrame, grid: pd.DataFrame, other: str, days: int, first: pd.Timestamp
) -> pd.Series:
    presence = tx[[KEY, "day", other]].drop_duplicates()
    repeated = presence.loc[presence.index.repeat(days)].copy()
    offsets = np.tile(np.arange(days), len(presence))
    repeated["day"] = repeated["day"].to_numpy() + pd.to_timedelta(offsets, unit="D").to_numpy()
    repeated = repeated[repeated["day"] >= first]
    counts = repeated.groupby([KEY, "day"])[other].nunique()
    index = pd.MultiIndex.from_frame(grid[[KEY, "day"]])
    return pd.Series(counts.reindex(index).fillna(0).astype("int64").to_numpy(), grid.index)


def customer_features(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    labels: pd.DataFrame,
    first: dt.date,
    last: dt.date,
) -> pd.DataFrame:
    """Customer daily features for ``[first, last]`` (columns as the project's table)."""
    start = pd.Timestamp(first - dt.timedelta(days=LOOKBACK_DAYS))
    first_ts, last_ts = pd.Timestamp(first), pd.Timestamp(last)
    people = customers[[KEY, "signup_date", "home_country"]].copy()
    people["signup_date"] = pd.to_datetime(people["signup_date"])

    event_date = pd.to_datetime(transactions["event_date"])
    tx = transactions[(event_date >= start) & (event_date <= last_ts)]
    tx = tx.merge(people[[KEY, "home_country"]], on=KEY, how="left")
    stamp = tx["event_timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    tx["day"] = stamp.dt.normalize()
    tx["cents"] = (tx["amount"] * 100).round().astype("int64")
    tx["squares"] = tx["cents"] * tx["cents"]
    tx["night"] = (stamp.dt.hour < 6).astype("int64")
    tx["foreign"] = (tx["home_country"].notna() & (tx["country"] != tx["home_country"])).astype(
        "int64"
    )
    tx["ts"] = stamp
    daily = tx.groupby([KEY, "day"]).agg(
        n=("amount", "size"),
        cents=("cents", "sum"),
        squares=("squares", "sum"),
        max_amount=("amount", "max"),
        nights=("night", "sum"),
        foreigns=("foreign", "sum"),
        last_ts=("ts", "max"),
    )

    entities = np.union1d(people.loc[people["signup_date"] <= last_ts, KEY], tx[KEY].unique())
    days = pd.date_range(start, last_ts, freq="D")
    index = pd.MultiIndex.from_product([entities, days], names=[KEY, "day"])
    grid = daily.reindex(index).reset_index()
    for column in ("n", "cents", "squares", "nights", "foreigns"):
        grid[column] = grid[column].fillna(0).astype("int64")
    grid["max_amount"] = grid["max_amount"].fillna(0.0)

    for k in WINDOWS:
        for column in ("n", "cents", "squares", "nights", "foreigns"):
            grid[f"{column}_{k}"] = _rolling(grid, column, k, "sum")
        grid[f"max_{k}"] = _rolling(grid, "max_amount", k, "max")
    grid["active_31"] = _rolling(grid, "n", LOOKBACK_DAYS + 1, "sum")
    grid["last_seen"] = grid.groupby(KEY)["last_ts"].ffill(limit=LOOKBACK_DAYS - 1)
    for k in WINDOWS:
        grid[f"merchants_{k}"] = _distinct(tx, grid, "merchant_id", k, start)
        grid[f"categories_{k}"] = _distinct(tx, grid, "merchant_category", k, start)

    grid = grid[grid["day"] >= first_ts].merge(people, on=KEY, how="left")
    grid = grid[(grid["signup_date"] <= grid["day"]) | (grid["active_31"] > 0)]

    reports = labels[labels[KEY].notna()].copy()
    reports["report_day"] = (
        reports["reported_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    ).astype(grid["day"].dtype)
    reports = reports.groupby([KEY, "report_day"]).size().rename("new").reset_index()
    reports[KEY] = reports[KEY].astype("int64")
    reports["reports"] = reports.groupby(KEY)["new"].cumsum()
    grid = pd.merge_asof(
        grid.sort_values("day"),
        reports[[KEY, "report_day", "reports"]].sort_values("report_day"),
        left_on="day",
        right_on="report_day",
        by=KEY,
        direction="backward",
    )

    snapshot = grid["day"] + pd.Timedelta(days=1)
    out = pd.DataFrame(
        {
            KEY: grid[KEY].to_numpy(),
            "event_timestamp": snapshot.dt.tz_localize("UTC").to_numpy(),
            "feature_date": grid["day"].dt.date.to_numpy(),
        }
    )
    for k in WINDOWS:
        n = grid[f"n_{k}"].astype("int64")
        some, several = n > 0, n > 1
        cents = grid[f"cents_{k}"]
        out[f"tx_count_{k}d"] = n.to_numpy()
        out[f"amount_sum_{k}d"] = (cents / 100.0).round(2).to_numpy()
        out[f"amount_mean_{k}d"] = (cents / n / 100.0).round(6).where(some).to_numpy()
        variance = (n * grid[f"squares_{k}"] - cents * cents) / (n * (n - 1))
        std = (np.sqrt(variance.clip(lower=0)) / 100.0).round(6)
        out[f"amount_std_{k}d"] = std.where(several).to_numpy()
        out[f"amount_max_{k}d"] = grid[f"max_{k}"].where(some).to_numpy()
        out[f"distinct_merchants_{k}d"] = grid[f"merchants_{k}"].to_numpy()
        out[f"distinct_categories_{k}d"] = grid[f"categories_{k}"].to_numpy()
        out[f"night_share_{k}d"] = (grid[f"nights_{k}"] / n).round(6).where(some).to_numpy()
        out[f"foreign_share_{k}d"] = (grid[f"foreigns_{k}"] / n).round(6).where(some).to_numpy()
    since = (snapshot - grid["last_seen"]).dt.total_seconds() / 86_400
    out["days_since_prev_tx"] = since.round(6).to_numpy()
    signup = (grid["day"] - grid["signup_date"]).dt.days + 1
    out["days_since_signup"] = signup.clip(lower=0).astype("float64").to_numpy()
    out["chargebacks_to_date"] = grid["reports"].fillna(0).astype("int64").to_numpy()
    out["home_country"] = grid["home_country"].to_numpy()
    return out.sort_values([KEY, "event_timestamp"], ignore_index=True)
