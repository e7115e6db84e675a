"""Fixed domain vocabulary of the simulator: categories, channels, countries, hours.

Every table here is indexed by position; the generators work on integer codes and
only the writer turns them into strings.
"""

from __future__ import annotations

import numpy as np

CATEGORIES: tuple[str, ...] = (
    "grocery",
    "restaurants",
    "fuel",
    "travel",
    "electronics",
    "fashion",
    "entertainment",
    "health",
    "gift_cards",
    "digital_goods",
    "cash_withdrawal",
)
CATEGORY_INDEX: dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}
N_CATEGORIES = len(CATEGORIES)

# How the amount of a purchase in a category compares with the customer's typical amount.
CATEGORY_AMOUNT_FACTOR = np.array([1.0, 0.8, 1.0, 4.5, 3.0, 1.5, 0.9, 1.2, 1.6, 0.4, 2.2])
# Average share of everyday spending per category (customers deviate from it).
CATEGORY_POPULARITY = np.array([22, 16, 10, 3, 4, 8, 7, 6, 1.5, 6, 5], dtype=np.float64)
# Relative merchant risk of a category (scaled by a per-merchant factor).
CATEGORY_RISK = np.array([0.6, 0.7, 0.8, 1.4, 2.2, 1.0, 0.9, 0.6, 3.0, 2.6, 1.6])
# Where a compromised card tends to be used (classic fraud pattern).
FRAUD_CATEGORY_WEIGHTS = np.array([2, 2, 2, 4, 20, 5, 3, 1, 22, 20, 14], dtype=np.float64)
# Categories customers move towards in the ``category_shift`` scenario.
SHIFT_CATEGORY_WEIGHTS = np.array([2, 40, 0, 0, 0, 0, 35, 0, 0, 23, 0], dtype=np.float64)

CHANNELS: tuple[str, ...] = ("online", "pos", "atm")
ONLINE, POS, ATM = 0, 1, 2
# Typical channel mix of a merchant per category (online, pos, atm).
CATEGORY_CHANNEL_MIX = np.array(
    [
        [0.10, 0.90, 0.00],  # grocery
        [0.15, 0.85, 0.00],  # restaurants
        [0.02, 0.98, 0.00],  # fuel
        [0.75, 0.25, 0.00],  # travel
        [0.60, 0.40, 0.00],  # electronics
        [0.45, 0.55, 0.00],  # fashion
        [0.50, 0.50, 0.00],  # entertainment
        [0.20, 0.80, 0.00],  # health
        [0.55, 0.45, 0.00],  # gift_cards
        [0.97, 0.03, 0.00],  # digital_goods
        [0.00, 0.00, 1.00],  # cash_withdrawal
    ]
)
# How much more likely a fraudster uses a channel than the merchant's own mix suggests.
FRAUD_CHANNEL_BOOST = np.array([3.0, 1.0, 3.0])

COUNTRIES: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "CA",
    "ES",
    "IT",
    "NL",
    "SE",
    "IE",
    "MX",
    "BR",
    "TH",
    "TR",
    "AE",
)
N_COUNTRIES = len(COUNTRIES)
# Where customers live.
HOME_COUNTRY_WEIGHTS = np.array(
    [62, 8, 6, 5, 5, 4, 4, 3, 1.5, 1.5, 0, 0, 0, 0, 0], dtype=np.float64
)
# Where merchants are (every country has some so travel and fraud have somewhere to go).
MERCHANT_COUNTRY_WEIGHTS = np.array(
    [50, 8, 6, 6, 5, 5, 5, 3, 2, 2, 2, 2, 1.5, 1.5, 1], dtype=np.float64
)
# Where legitimate customers travel to.
TRAVEL_COUNTRY_WEIGHTS = np.array(
    [14, 10, 7, 12, 6, 10, 10, 5, 2, 3, 9, 3, 4, 3, 2], dtype=np.float64
)
# Where a stolen card is used when it is used abroad.
FRAUD_COUNTRY_WEIGHTS = np.array([6, 6, 4, 4, 3, 3, 3, 3, 2, 2, 8, 12, 10, 12, 9], dtype=np.float64)

# Diurnal pattern of everyday spending, hour of day (UTC) 0..23.
DAY_HOUR_WEIGHTS = np.array(
    [0.6, 0.4, 0.3, 0.25, 0.3, 0.5, 1.2, 2.5, 4.0, 5.0, 5.5, 6.2,
     7.5, 7.2, 6.0, 5.5, 5.6, 6.5, 7.4, 7.6, 6.8, 5.0, 3.2, 1.6]
)  # fmt: skip
NIGHT_HOURS = np.arange(0, 6)
DAYTIME_HOURS = np.arange(9, 18)


def normalized(weights: np.ndarray) -> np.ndarray:
    """Return ``weights`` scaled to sum to one along the last axis.

    Args:
        weights: Non-negative weights.

    Returns:
        The weights divided by their sum.
    """
    return weights / weights.sum(axis=-1, keepdims=True)
