-- Model performance trend on matured labels, against the model's own validation ROC-AUC.
--
-- One row per monitoring report: the cohort it evaluates (report day - label maturity),
-- the trailing-window ROC-AUC, precision and recall, the gap to the scoring model's
-- validation ROC-AUC and whether it counted as degraded (which requests retraining).
SELECT
    report_date,
    cohort_date,
    model_version,
    window_rows,
    window_frauds,
    round(window_roc_auc, 4) AS window_roc_auc,
    round(validation_roc_auc, 4) AS validation_roc_auc,
    round(window_roc_auc - validation_roc_auc, 4) AS gap,
    round(window_precision, 4) AS window_precision,
    round(window_recall, 4) AS window_recall,
    degraded
FROM monitoring.model_performance
ORDER BY report_date;
