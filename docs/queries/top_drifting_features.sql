-- Top drifting features over the last 7 monitored days.
--
-- For each model feature: its worst population stability index (PSI) and KS / Jensen-Shannon
-- statistics on any of the last 7 scored days, on how many of them it counted as drifted,
-- and its share of the model's gain (drift of an unimportant feature does not request
-- retraining). Sorted worst first; the score distribution itself is listed separately by
-- the `kind = 'score'` row of monitoring.feature_drift.
WITH recent AS (
    SELECT *
    FROM monitoring.feature_drift
    WHERE kind <> 'score'
      AND event_date > (SELECT max(event_date) - 7 FROM monitoring.feature_drift)
)
SELECT
    feature,
    kind,
    round(max(psi), 4) AS worst_psi,
    round(max(ks), 4) AS worst_ks,
    round(max(js_distance), 4) AS worst_js_distance,
    count(*) FILTER (WHERE drifted) AS drifted_days,
    count(*) AS days,
    round(max(importance), 4) AS gain_share
FROM recent
GROUP BY feature, kind
ORDER BY worst_psi DESC, feature
LIMIT 15;
