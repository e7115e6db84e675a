"""Labels and chargebacks: who is really fraud, and when the bank hears about it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86_400
REPORTED_SHARE = 0.9  # share of fraud that is eventually reported as a chargeback
MEDIAN_EXTRA_DELAY_DAYS = 7.0  # reporting delay is 1 day + lognormal(median 7 days)
DELAY_SIGMA = 0.8
MAX_DELAY_DAYS = 120.0
FALSE_CHARGEBACK_RATE = 0.0003  # legitimate transactions disputed anyway (friendly fraud)


@dataclass(frozen=True)
class Outcomes:
    """Per-transaction ground truth drawn from p_fraud.

    Attributes:
        is_fraud: True label, ~ Bernoulli(p_fraud).
        reported_at: Epoch seconds of the chargeback report, -1 if never reported.
        false_chargeback: A chargeback on a legitimate transaction.
    """

    is_fraud: np.ndarray
    reported_at: np.ndarray
    false_chargeback: np.ndarray

    @property
    def has_chargeback(self) -> np.ndarray:
        """Whether a chargeback is (or will be) reported."""
        return self.reported_at >= 0


def draw_labels(rng: np.random.Generator, p_fraud: np.ndarray) -> np.ndarray:
    """Draw the true label of every transaction from its fraud probability."""
    return rng.random(len(p_fraud)) < p_fraud


def draw_chargebacks(
    rng: np.random.Generator, is_fraud: np.ndarray, event_seconds: np.ndarray
) -> Outcomes:
    """Decide which transactions get a chargeback, and when it is reported.

    Most fraud is reported 1-60 days after the transaction (1 day + a lognormal delay),
    some never is; a very small share of legitimate transactions is disputed too.

    Args:
        rng: Random generator.
        is_fraud: True labels.
        event_seconds: Epoch seconds of the transactions.

    Returns:
        The outcomes of the transactions.
    """
    n = len(is_fraud)
    u = rng.random(n)
    fraud_delay = 1.0 + rng.lognormal(np.log(MEDIAN_EXTRA_DELAY_DAYS), DELAY_SIGMA, size=n)
    false_delay = 1.0 + rng.lognormal(np.log(20.0), 0.6, size=n)
    reported = np.where(is_fraud, u < REPORTED_SHARE, u < FALSE_CHARGEBACK_RATE)
    delay_days = np.minimum(np.where(is_fraud, fraud_delay, false_delay), MAX_DELAY_DAYS)
    delay_seconds = (delay_days * SECONDS_PER_DAY).astype(np.int64)
    reported_at = np.where(reported, event_seconds + delay_seconds, -1)
    return Outcomes(
        is_fraud=is_fraud,
        reported_at=reported_at.astype(np.int64),
        false_chargeback=reported & ~is_fraud,
    )
