-- Model version history: every registered version, oldest first.
--
-- When it was registered and on which labels, the aliases it holds now (champion scores
-- the transactions, challenger is the newest trained), its validation and test metrics on
-- matured labels, what the champion gate decided, how long training took, and how many
-- transactions it scored (ml.transaction_scores).
SELECT
    v.version,
    v.created_at,
    v.trained_as_of,
    v.aliases,
    round(v.validation_roc_auc, 4) AS validation_roc_auc,
    round(v.test_roc_auc, 4) AS test_roc_auc,
    round(v.test_pr_auc, 4) AS test_pr_auc,
    v.gate_outcome,
    v.gate_reason,
    round(r.duration_seconds, 1) AS training_seconds,
    coalesce(s.scored, 0) AS scored_transactions
FROM ml.model_versions AS v
LEFT JOIN ml.training_runs AS r USING (run_id)
LEFT JOIN (
    SELECT model_version, count(*) AS scored
    FROM ml.transaction_scores
    GROUP BY model_version
) AS s ON s.model_version = v.version
ORDER BY CAST(v.version AS INTEGER);
