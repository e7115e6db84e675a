"""Everyday (legitimate) card activity of one day, and the batch type shared with fraud."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ml_platform.lib.simulation import catalog
from ml_platform.lib.simulation.entities import Customers
from ml_platform.lib.simulation.sampling import MerchantIndex, sample_cumulative, uniform_choice
from ml_platform.lib.simulation.scenarios import DayEffects

SECONDS_PER_DAY = 86_400
# Expected transactions relative to the customer's rate, Monday..Sunday.
WEEKDAY_FACTOR = np.array([0.95, 0.95, 1.0, 1.0, 1.1, 1.15, 0.85])
TRIP_MIN_DAYS, TRIP_MAX_DAYS = 2, 10
SPENT_ABROAD_WHEN_TRAVELLING = 0.8
CROSS_BORDER_ONLINE = 0.02  # share of at-home purchases from a foreign merchant
# p_fraud of an ordinary transaction: isolated fraud outside episodes, driven by merchant risk.
BASE_FRAUD_PROBABILITY = 0.0011
MAX_BASE_FRAUD_PROBABILITY = 0.05

# Kinds of transaction (ground truth).
LEGIT, CLASSIC, CARD_TESTING, NEW_PATTERN = 0, 1, 2, 3
KIND_NAMES: tuple[str, ...] = ("none", "classic", "card_testing", "new_pattern")


@dataclass
class TxBatch:
    """Transactions of one day as parallel arrays (codes, not strings).

    Attributes:
        customer: Customer position (customer_id - 1).
        merchant: Merchant position (merchant_id - 1).
        category: Category code.
        channel: Channel code.
        country: Country code.
        amount: Amount rounded to cents.
        second: Second of the day (UTC), 0..86399.
        p_fraud: True fraud probability.
        kind: Generating process: LEGIT or a fraud episode kind.
    """

    customer: np.ndarray
    merchant: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    country: np.ndarray
    amount: np.ndarray
    second: np.ndarray
    p_fraud: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @staticmethod
    def concat(batches: list[TxBatch]) -> TxBatch:
        """Concatenate batches field by field."""
        return TxBatch(
            **{
                f.name: np.concatenate([getattr(b, f.name) for b in batches])
                for f in fields(TxBatch)
            }
        )

    def take(self, index: np.ndarray) -> TxBatch:
        """Return the rows at ``index`` (e.g. a sort order)."""
        return TxBatch(**{f.name: getattr(self, f.name)[index] for f in fields(TxBatch)})


def finish_amounts(raw: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Round amounts to cents (cash withdrawals to multiples of 20) and keep them > 0."""
    amount = np.maximum(np.round(raw, 2), 0.5)
    cash = category == catalog.CATEGORY_INDEX["cash_withdrawal"]
    amount[cash] = np.maximum(np.round(raw[cash] / 20.0) * 20.0, 20.0)
    return amount


def draw_channels(
    rng: np.random.Generator, index: MerchantIndex, merchant: np.ndarray, boost: np.ndarray | None
) -> np.ndarray:
    """Draw a channel per transaction from its merchant's mix, optionally re-weighted."""
    u = rng.random(len(merchant))
    if boost is None:
        return sample_cumulative(index.merchants.channel_cum[merchant], u)
    return sample_cumulative(np.cumsum(index.merchants.channel_mix[merchant] * boost, axis=1), u)


def diurnal_seconds(rng: np.random.Generator, night: np.ndarray) -> np.ndarray:
    """Draw a second of the day: night hours where ``night``, else the diurnal pattern."""
    n = len(night)
    day_hours = rng.choice(24, size=n, p=catalog.normalized(catalog.DAY_HOUR_WEIGHTS))
    night_hours = uniform_choice(rng.random(n), catalog.NIGHT_HOURS)
    hour = np.where(night, night_hours, day_hours)
    return hour * 3600 + rng.integers(0, 3600, size=n)


def start_trips(rng: np.random.Generator, customers: Customers, day: int) -> None:
    """Send a few customers abroad for several days (legitimate foreign spending).

    Args:
        rng: Random generator.
        customers: All customers; trip state updated in place.
        day: Day index.
    """
    active = customers.active(day)
    u = rng.random(len(active))
    length = rng.integers(TRIP_MIN_DAYS, TRIP_MAX_DAYS + 1, size=len(active))
    destination = rng.choice(
        catalog.N_COUNTRIES, size=len(active), p=catalog.normalized(catalog.TRAVEL_COUNTRY_WEIGHTS)
    )
    home = customers.home[active]
    destination = np.where(
        destination == home, (destination + 3) % catalog.N_COUNTRIES, destination
    )
    starting = (u < customers.trip_propensity[active]) & (customers.trip_end[active] < day)
    chosen = active[starting]
    customers.trip_end[chosen] = day + length[starting] - 1
    customers.trip_country[chosen] = destination[starting]


def legit_transactions(
    rng: np.random.Generator,
    customers: Customers,
    index: MerchantIndex,
    day: int,
    weekday: int,
    effects: DayEffects,
) -> TxBatch:
    """Generate one day of ordinary spending of every active customer.

    Args:
        rng: Random generator.
        customers: All customers.
        index: Merchant lookup.
        day: Day index.
        weekday: Day of week, Monday = 0.
        effects: The scenario parameters of the day.

    Returns:
        The day's legitimate transactions (in no particular order).
    """
    active = customers.active(day)
    counts = rng.poisson(customers.rate[active] * WEEKDAY_FACTOR[weekday])
    customer = np.repeat(active, counts)
    n = len(customer)

    cumulative = customers.category_cum[customer]
    if effects.category_shift > 0:
        shift = np.cumsum(catalog.normalized(catalog.SHIFT_CATEGORY_WEIGHTS))
        cumulative = (1.0 - effects.category_shift) * cumulative + effects.category_shift * shift
    wanted_category = sample_cumulative(cumulative, rng.random(n))

    home = customers.home[customer]
    travelling = (customers.trip_end[customer] >= day) & (
        rng.random(n) < SPENT_ABROAD_WHEN_TRAVELLING
    )
    foreign_online = rng.choice(
        catalog.N_COUNTRIES, size=n, p=catalog.normalized(catalog.MERCHANT_COUNTRY_WEIGHTS)
    )
    cross_border = rng.random(n) < CROSS_BORDER_ONLINE
    location = np.where(cross_border, foreign_online, home)
    location = np.where(travelling, customers.trip_country[customer], location)

    merchant = index.pick(wanted_category, location, rng.random(n))
    merchants = index.merchants
    category = merchants.category[merchant]
    country = merchants.country[merchant]
    channel = draw_channels(rng, index, merchant, None)

    night = rng.random(n) < customers.night_propensity[customer]
    second = diurnal_seconds(rng, night)
    raw = (
        customers.typical_amount[customer]
        * catalog.CATEGORY_AMOUNT_FACTOR[category]
        * rng.lognormal(mean=0.0, sigma=0.55, size=n)
        * effects.amount_factor
    )
    hour = second // 3600
    at_night = hour < catalog.NIGHT_HOURS[-1] + 1
    p_fraud = (
        BASE_FRAUD_PROBABILITY
        * merchants.risk[merchant]
        * np.where(at_night, 1.6, 1.0)
        * np.where(country != home, 1.5, 1.0)
    )
    return TxBatch(
        customer=customer,
        merchant=merchant,
        category=category,
        channel=channel,
        country=country,
        amount=finish_amounts(raw, category),
        second=second,
        p_fraud=np.minimum(p_fraud, MAX_BASE_FRAUD_PROBABILITY),
        kind=np.full(n, LEGIT, dtype=np.int64),
    )
