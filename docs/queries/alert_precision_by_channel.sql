-- Alert precision by channel, on matured labels.
--
-- Of the transactions the model flagged (score >= decision threshold), the share that
-- turned out to be fraud: a chargeback reported within label_maturity_days of the day.
-- Only matured days count (a recent alert's chargeback may not have arrived yet), and the
-- rates are pooled from the counts (sum of true alerts / sum of alerts), never averaged
-- over days. Recall is the share of matured frauds the alerts caught; alert rate is the
-- share of scored transactions flagged. Fraud reported after the horizon counts as not
-- fraud, so precision is a lower bound, biased alike for every channel.
SELECT
    channel,
    count(*) AS matured_days,
    sum(scored_transactions)::BIGINT AS scored_transactions,
    sum(alerts)::BIGINT AS alerts,
    sum(true_alerts)::BIGINT AS true_alerts,
    sum(matured_frauds)::BIGINT AS frauds,
    round(sum(alerts) / nullif(sum(scored_transactions), 0)::DOUBLE, 5) AS alert_rate,
    round(sum(true_alerts) / nullif(sum(alerts), 0)::DOUBLE, 4) AS alert_precision,
    round(sum(true_alerts) / nullif(sum(matured_frauds), 0)::DOUBLE, 4) AS alert_recall
FROM analytics.daily_kpis_by_channel
WHERE matured
GROUP BY channel
ORDER BY channel;
