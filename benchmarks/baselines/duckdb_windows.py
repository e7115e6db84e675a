"""The customer daily features as DuckDB window SQL, over the same Delta data.

The same definitions as ``features/customer_daily`` (see the catalog): one row per customer
per day for customers who signed up by that day or transacted in the 31 days up to it;
1/7/30-day windows of count, amount sum / mean / sample std / max, distinct merchants and
categories, night and foreign shares; days since the previous transaction and since signup;
chargebacks reported by the end of the day; home country.

Written the way one writes it in SQL: daily aggregates on a dense customer × day grid with
``ROWS`` frames for the additive windows, ``count(DISTINCT …) OVER (… RANGE …)`` over the
transactions for the distinct counts, and an ``ASOF`` join for the chargebacks. Inputs are the
Parquet files of each Delta table's current version (``DeltaTable.file_uris()``: the project
does not use DuckDB's ``delta`` extension, which downloads at run time), read by DuckDB
itself. The result is returned as a Polars frame, as the project's function returns one.
"""

import datetime as dt

import duckdb
import polars as pl
from deltalake import DeltaTable

LOOKBACK_DAYS = 30
WINDOWS = (1, 7, 30)


def _files(uri: str) -> list[str]:
    return DeltaTable(uri).file_uris()


def _source(files: list[str]) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], hive_partitioning = true)"


def _window_columns() -> str:
    parts = []
    for k in WINDOWS:
        w = f"w{k}"
        parts += [
            f"sum(n) OVER {w} AS n_{k}",
            f"sum(cents) OVER {w} AS cents_{k}",
            f"sum(squares) OVER {w} AS squares_{k}",
            f"max(coalesce(max_amount, 0)) OVER {w} AS max_{k}",
            f"sum(nights) OVER {w} AS nights_{k}",
            f"sum(foreigns) OVER {w} AS foreigns_{k}",
        ]
    return ",\n        ".join(parts)


def _distinct_columns() -> str:
    parts = []
    for k in WINDOWS:
        parts += [
            f"count(DISTINCT merchant_id) OVER r{k} AS merchants_{k}",
            f"count(DISTINCT merchant_category) OVER r{k} AS categories_{k}",
        ]
    return ",\n        ".join(parts)


def _feature_columns() -> str:
    parts = []
    for k in WINDOWS:
        n = f"g.n_{k}"
        parts += [
            f"{n}::BIGINT AS tx_count_{k}d",
            f"round(g.cents_{k} / 100.0, 2) AS amount_sum_{k}d",
            f"CASE WHEN {n} > 0 THEN round(g.cents_{k} / {n} / 100.0, 6) END AS amount_mean_{k}d",
            f"CASE WHEN {n} > 1 THEN round(sqrt(greatest(0.0, "
            f"({n}::HUGEINT * g.squares_{k} - g.cents_{k}::HUGEINT * g.cents_{k})::DOUBLE "
            f"/ ({n} * ({n} - 1))::DOUBLE)) / 100.0, 6) END AS amount_std_{k}d",
            f"CASE WHEN {n} > 0 THEN g.max_{k} END AS amount_max_{k}d",
            f"d.merchants_{k}::BIGINT AS distinct_merchants_{k}d",
            f"d.categories_{k}::BIGINT AS distinct_categories_{k}d",
            f"CASE WHEN {n} > 0 THEN round(g.nights_{k} / {n}, 6) END AS night_share_{k}d",
            f"CASE WHEN {n} > 0 THEN round(g.foreigns_{k} / {n}, 6) END AS foreign_share_{k}d",
        ]
    return ",\n    ".join(parts)


def _frames(kind: str, lookback: int) -> str:
    frames = []
    for k in (*WINDOWS, lookback):
        if kind == "rows":
            frames.append(
                f"w{k} AS (PARTITION BY customer_id ORDER BY day "
                f"ROWS BETWEEN {k - 1} PRECEDING AND CURRENT ROW)"
            )
        elif k in WINDOWS:
            frames.append(
                f"r{k} AS (PARTITION BY customer_id ORDER BY day "
                f"RANGE BETWEEN INTERVAL {k - 1} DAYS PRECEDING AND CURRENT ROW)"
            )
    return ",\n    ".join(frames)


def customer_features_sql(tx: str, customers: str, labels: str) -> str:
    """The query, reading the three inputs from the given table expressions.

    Parameters ``$start``, ``$first`` and ``$last`` (dates) bound the data and the output.
    """
    return f"""
WITH people AS (
    SELECT customer_id, signup_date, home_country FROM {customers}
),
tx AS (
    SELECT t.customer_id, t.merchant_id, t.merchant_category, t.amount, t.event_timestamp,
           CAST(t.event_timestamp AS DATE) AS day,
           CAST(round(t.amount * 100) AS BIGINT) AS cents,
           CAST(hour(t.event_timestamp) < 6 AS INTEGER) AS night,
           CAST(p.home_country IS NOT NULL AND t.country <> p.home_country AS INTEGER) AS is_foreign
    FROM {tx} t LEFT JOIN people p USING (customer_id)
    WHERE t.event_date BETWEEN $start AND $last
),
daily AS (
    SELECT customer_id, day, count(*) AS n, sum(cents) AS cents,
           sum(cents::HUGEINT * cents) AS squares, max(amount) AS max_amount,
           sum(night) AS nights, sum(is_foreign) AS foreigns, max(event_timestamp) AS last_ts
    FROM tx GROUP BY customer_id, day
),
entities AS (
    SELECT customer_id FROM people WHERE signup_date <= $last
    UNION SELECT customer_id FROM tx
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM range($start, $last + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
),
grid AS (
    SELECT e.customer_id, days.day, coalesce(n, 0) AS n, coalesce(cents, 0) AS cents,
           coalesce(squares, 0) AS squares, max_amount, coalesce(nights, 0) AS nights,
           coalesce(foreigns, 0) AS foreigns, last_ts
    FROM entities e CROSS JOIN days LEFT JOIN daily USING (customer_id, day)
),
windowed AS (
    SELECT customer_id, day,
        {_window_columns()},
        sum(n) OVER w{LOOKBACK_DAYS + 1} AS active_31,
        max(last_ts) OVER w{LOOKBACK_DAYS} AS last_seen
    FROM grid
    WINDOW {_frames("rows", LOOKBACK_DAYS + 1)}
),
presence AS (
    SELECT customer_id, day, merchant_id, merchant_category, FALSE AS is_grid FROM tx
    UNION ALL
    SELECT customer_id, day, NULL, NULL, TRUE FROM grid WHERE day >= $first
),
distincts AS (
    SELECT customer_id, day, is_grid,
        {_distinct_columns()}
    FROM presence
    WINDOW {_frames("range", LOOKBACK_DAYS + 1)}
    QUALIFY is_grid
),
reports AS (
    SELECT customer_id, report_day,
           sum(new_reports) OVER (PARTITION BY customer_id ORDER BY report_day) AS reports
    FROM (
        SELECT customer_id, CAST(reported_at AS DATE) AS report_day, count(*) AS new_reports
        FROM {labels} WHERE customer_id IS NOT NULL GROUP BY ALL
    )
),
snapshots AS (
    SELECT g.*, p.signup_date, p.home_country,
           timezone('UTC', CAST(g.day + INTERVAL 1 DAY AS TIMESTAMP)) AS snapshot_ts
    FROM windowed g LEFT JOIN people p USING (customer_id)
    WHERE g.day >= $first AND (p.signup_date <= g.day OR g.active_31 > 0)
)
SELECT
    g.customer_id,
    g.snapshot_ts AS event_timestamp,
    g.day AS feature_date,
    {_feature_columns()},
    round((epoch_us(g.snapshot_ts) - epoch_us(g.last_seen)) / 86400e6, 6) AS days_since_prev_tx,
    CASE WHEN g.signup_date IS NOT NULL
         THEN CAST(greatest(0, g.day - g.signup_date + 1) AS DOUBLE) END AS days_since_signup,
    coalesce(r.reports, 0)::BIGINT AS chargebacks_to_date,
    g.home_country
FROM snapshots g
JOIN distincts d USING (customer_id, day)
ASOF LEFT JOIN reports r ON g.customer_id = r.customer_id AND g.day >= r.report_day
ORDER BY g.customer_id, g.day
"""


def customer_features(
    lake_uri: str, first: dt.date, last: dt.date, customer_filter: str | None = None
) -> pl.DataFrame:
    """Customer daily features for ``[first, last]`` from the lake's silver tables.

    Args:
        lake_uri: Root of the Delta lake.
        first: First snapshot day.
        last: Last snapshot day.
        customer_filter: Optional SQL condition on ``customer_id`` applied to every input (to
            compute a sample), e.g. ``customer_id <= 1000``.
    """
    where = f" WHERE {customer_filter}" if customer_filter else ""
    tables = {
        name: f"(SELECT * FROM {_source(_files(f'{lake_uri}/silver/{name}'))}{where})"
        for name in ("transactions", "customers", "labels")
    }
    query = customer_features_sql(tables["transactions"], tables["customers"], tables["labels"])
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        start = first - dt.timedelta(days=LOOKBACK_DAYS)
        params = {"start": start, "first": first, "last": last}
        return pl.from_arrow(con.sql(query, params=params).to_arrow_table())  # type: ignore[return-value]
