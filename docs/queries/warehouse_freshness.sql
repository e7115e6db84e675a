-- How fresh is this warehouse, and what was it built from?
--
-- The build time, the data's clock (end of the newest day of transactions: days older than
-- label_maturity_days before it have matured labels), the settings the KPIs used, the Delta
-- table versions read, and the newest day of each table.
SELECT
    b.built_at,
    b.data_as_of,
    b.label_maturity_days,
    b.decision_threshold,
    (SELECT max(event_date) FROM lake.transactions) AS newest_transactions,
    (SELECT max(event_date) FROM ml.transaction_scores) AS newest_scores,
    (SELECT max(event_date) FROM monitoring.feature_drift) AS newest_drift_report,
    (SELECT max(event_date) FROM analytics.daily_kpis WHERE matured) AS newest_matured_day,
    b.source_versions
FROM analytics.build_info AS b;
