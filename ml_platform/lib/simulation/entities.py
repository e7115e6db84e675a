"""Customers and merchants: their attributes, their growth and their slow changes."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ml_platform.lib.simulation import catalog

SIGNUP_HISTORY_DAYS = 3 * 365
DAILY_SIGNUP_RATE = 0.0008  # new customers per day, as a share of the initial base
DAILY_UPDATE_RATE = 0.001  # customers whose record changes per day
MOVE_SHARE = 0.25  # share of updates that are a move to another country (else a limit raise)
MEAN_DAILY_TRANSACTIONS = 1.0


@dataclass
class Customers:
    """Per-customer attributes and state, as parallel arrays indexed by position.

    ``customer_id`` is position + 1. State arrays (trip, episode) are mutated day by day.
    """

    signup_day: np.ndarray  # int, day index relative to the start (negative: before it)
    home: np.ndarray  # int country code
    credit_limit: np.ndarray  # float
    rate: np.ndarray  # float, expected transactions per day
    typical_amount: np.ndarray  # float
    category_cum: np.ndarray  # (n, N_CATEGORIES) cumulative category preferences
    night_propensity: np.ndarray  # float, share of spending at night
    trip_propensity: np.ndarray  # float, daily probability of starting a trip
    trip_end: np.ndarray  # int, last day of the current trip (-inf-ish if none)
    trip_country: np.ndarray  # int country code of the current trip
    episode_start: np.ndarray  # int, first day of the current/last fraud episode
    episode_end: np.ndarray  # int, last day of the current/last fraud episode
    episode_kind: np.ndarray  # int, kind of the current/last episode (see fraud.py)

    def __len__(self) -> int:
        return len(self.signup_day)

    @property
    def customer_id(self) -> np.ndarray:
        """Integer ids (1-based) of all customers."""
        return np.arange(1, len(self) + 1, dtype=np.int64)

    def append(self, other: Customers) -> None:
        """Add the customers of ``other`` after the existing ones."""
        for field in fields(self):
            merged = np.concatenate([getattr(self, field.name), getattr(other, field.name)])
            setattr(self, field.name, merged)

    def active(self, day: int) -> np.ndarray:
        """Positions of customers who can transact on ``day`` (signed up before it)."""
        return np.flatnonzero(self.signup_day < day)


def _round_limit(values: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(values / 100.0) * 100.0, 500.0)


def draw_customers(rng: np.random.Generator, signup_day: np.ndarray) -> Customers:
    """Draw the attributes of new customers.

    Args:
        rng: Random generator.
        signup_day: Signup day index of each new customer.

    Returns:
        The customers, with no trip or fraud episode under way.
    """
    n = len(signup_day)
    home = rng.choice(
        catalog.N_COUNTRIES, size=n, p=catalog.normalized(catalog.HOME_COUNTRY_WEIGHTS)
    )
    rate = rng.gamma(shape=2.0, scale=MEAN_DAILY_TRANSACTIONS / 2.0, size=n)
    typical_amount = rng.lognormal(mean=np.log(35.0), sigma=0.6, size=n)
    alpha = catalog.normalized(catalog.CATEGORY_POPULARITY) * 5.0
    preferences = rng.dirichlet(alpha, size=n)
    # Dirichlet draws can underflow to exact zeros; keep every category barely possible.
    preferences = catalog.normalized(preferences + 1e-4)
    limit = rng.lognormal(mean=np.log(4_000.0), sigma=0.5, size=n) * (typical_amount / 35.0) ** 0.3
    never = np.full(n, -(10**6), dtype=np.int64)
    return Customers(
        signup_day=np.asarray(signup_day, dtype=np.int64),
        home=home.astype(np.int64),
        credit_limit=_round_limit(limit),
        rate=rate,
        typical_amount=typical_amount,
        category_cum=np.cumsum(preferences, axis=1),
        night_propensity=rng.beta(1.2, 14.0, size=n),
        trip_propensity=rng.beta(0.8, 200.0, size=n),
        trip_end=never.copy(),
        trip_country=home.astype(np.int64),
        episode_start=never.copy(),
        episode_end=never.copy(),
        episode_kind=np.zeros(n, dtype=np.int64),
    )


def initial_customers(rng: np.random.Generator, count: int) -> Customers:
    """Draw the customers who signed up during the ~3 years before the start.

    Args:
        rng: Random generator.
        count: Number of customers.

    Returns:
        Customers ordered by signup day (lower ids signed up earlier).
    """
    signup_day = np.sort(rng.integers(-SIGNUP_HISTORY_DAYS, 0, size=count))
    return draw_customers(rng, signup_day)


def daily_signups(rng: np.random.Generator, initial_count: int, day: int) -> Customers:
    """Draw the customers who sign up on ``day``."""
    n = int(rng.poisson(initial_count * DAILY_SIGNUP_RATE))
    return draw_customers(rng, np.full(n, day, dtype=np.int64))


def apply_daily_updates(rng: np.random.Generator, customers: Customers, day: int) -> np.ndarray:
    """Change the record of a few existing customers (credit limit raise or move abroad).

    Args:
        rng: Random generator.
        customers: All customers; updated in place.
        day: Day index; only customers who signed up before it can change.

    Returns:
        Sorted positions of the customers that changed.
    """
    existing = customers.active(day)
    n = int(rng.binomial(len(existing), DAILY_UPDATE_RATE)) if len(existing) else 0
    chosen = np.sort(rng.choice(existing, size=n, replace=False)) if n else existing[:0]
    moves = rng.random(n) < MOVE_SHARE
    raise_factor = rng.uniform(1.15, 1.6, size=n)
    new_home = rng.choice(
        catalog.N_COUNTRIES, size=n, p=catalog.normalized(catalog.HOME_COUNTRY_WEIGHTS)
    )
    # A move must change the country; fall back to the next home country in the list.
    same = new_home == customers.home[chosen]
    new_home[same] = (new_home[same] + 1) % int(np.count_nonzero(catalog.HOME_COUNTRY_WEIGHTS))
    moved = chosen[moves]
    customers.home[moved] = new_home[moves]
    raised = chosen[~moves]
    customers.credit_limit[raised] = _round_limit(
        customers.credit_limit[raised] * raise_factor[~moves]
    )
    return chosen


@dataclass(frozen=True)
class Merchants:
    """Merchant attributes as parallel arrays; ``merchant_id`` is position + 1."""

    category: np.ndarray  # int category code
    country: np.ndarray  # int country code
    channel_cum: np.ndarray  # (n, 3) cumulative channel mix (online, pos, atm)
    channel_mix: np.ndarray  # (n, 3) channel mix
    popularity: np.ndarray  # float weight of being chosen by a customer
    risk: np.ndarray  # float risk level (mean ~1); drives p_fraud and fraudsters' choice

    def __len__(self) -> int:
        return len(self.category)


def draw_merchants(rng: np.random.Generator, count: int) -> Merchants:
    """Draw merchants; the first ones cover every (country, category) pair.

    Args:
        rng: Random generator.
        count: Number of merchants.

    Returns:
        The merchants.
    """
    by_weight = np.argsort(-catalog.MERCHANT_COUNTRY_WEIGHTS, kind="stable")
    pairs = np.array([(c, k) for c in by_weight for k in range(catalog.N_CATEGORIES)])
    covered = min(count, len(pairs))
    extra = count - covered
    category_weights = catalog.normalized(catalog.CATEGORY_POPULARITY**0.7)
    category = np.concatenate(
        [pairs[:covered, 1], rng.choice(catalog.N_CATEGORIES, size=extra, p=category_weights)]
    )
    country = np.concatenate(
        [
            pairs[:covered, 0],
            rng.choice(
                catalog.N_COUNTRIES,
                size=extra,
                p=catalog.normalized(catalog.MERCHANT_COUNTRY_WEIGHTS),
            ),
        ]
    )
    noise = rng.uniform(0.6, 1.4, size=(count, 3))
    mix = catalog.normalized(catalog.CATEGORY_CHANNEL_MIX[category] * noise)
    risk = catalog.CATEGORY_RISK[category] * rng.lognormal(mean=-0.18, sigma=0.6, size=count)
    return Merchants(
        category=category.astype(np.int64),
        country=country.astype(np.int64),
        channel_cum=np.cumsum(mix, axis=1),
        channel_mix=mix,
        popularity=rng.lognormal(mean=0.0, sigma=1.0, size=count),
        risk=risk,
    )
