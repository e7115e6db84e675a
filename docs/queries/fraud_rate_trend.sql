-- Fraud rate trend, on matured labels.
--
-- One row per day: transactions, the matured fraud rate (chargebacks reported within
-- label_maturity_days of the day, see analytics.build_info) and its 7-day rolling rate
-- (pooled: frauds / transactions over the 7 days, not a mean of daily rates). Days that have
-- not matured yet are left out: their chargebacks are still arriving, so their rate would
-- look falsely low.
SELECT
    event_date,
    transactions,
    matured_frauds,
    round(matured_fraud_rate, 5) AS fraud_rate,
    round(
        sum(matured_frauds) OVER last_7_days / (sum(transactions) OVER last_7_days)::DOUBLE, 5
    ) AS fraud_rate_7d
FROM analytics.daily_kpis
WHERE matured
WINDOW last_7_days AS (ORDER BY event_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
ORDER BY event_date;
