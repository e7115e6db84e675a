"""Fraud episodes: cards get compromised and the fraudster spends in bursts."""

from __future__ import annotations

import numpy as np

from ml_platform.lib.simulation import catalog
from ml_platform.lib.simulation.entities import Customers
from ml_platform.lib.simulation.sampling import MerchantIndex, sample_fixed, uniform_choice
from ml_platform.lib.simulation.scenarios import DayEffects
from ml_platform.lib.simulation.transactions import (
    CARD_TESTING,
    CLASSIC,
    NEW_PATTERN,
    SECONDS_PER_DAY,
    TxBatch,
    diurnal_seconds,
    draw_channels,
    finish_amounts,
)

COMPROMISE_PROBABILITY = 0.0011  # daily probability that a card gets compromised
MAX_EPISODE_DAYS = 3
CARD_TESTING_SHARE = 0.3  # share of classic episodes that start with small test charges
FOREIGN_SHARE = 0.6  # share of classic fraud spent abroad
NIGHT_SHARE = 0.55  # share of classic bursts that happen at night
BURST_GAP_SECONDS = 600.0  # mean time between two transactions of a burst
ONLINE_ONLY = np.array([30.0, 1.0, 1.0])
CARD_TESTING_CATEGORIES = np.array(
    [catalog.CATEGORY_INDEX[c] for c in ("digital_goods", "gift_cards", "entertainment")]
)
DIGITAL_GOODS = catalog.CATEGORY_INDEX["digital_goods"]


def start_episodes(
    rng: np.random.Generator, customers: Customers, day: int, effects: DayEffects
) -> int:
    """Compromise a few cards; each episode lasts 1-3 days from today.

    Args:
        rng: Random generator.
        customers: All customers; episode state updated in place.
        day: Day index.
        effects: The scenario parameters of the day (frequency and pattern of episodes).

    Returns:
        Number of episodes started.
    """
    active = customers.active(day)
    n = len(active)
    u = rng.random(n)
    length = rng.integers(1, MAX_EPISODE_DAYS + 1, size=n)
    pattern_u = rng.random(n)
    free = customers.episode_end[active] < day
    starting = free & (u < COMPROMISE_PROBABILITY * effects.compromise_multiplier)
    chosen = active[starting]
    customers.episode_start[chosen] = day
    customers.episode_end[chosen] = day + length[starting] - 1
    customers.episode_kind[chosen] = np.where(
        pattern_u[starting] < effects.new_pattern_share, NEW_PATTERN, CLASSIC
    )
    return len(chosen)


def _burst_offsets(rng: np.random.Generator, group: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Seconds after its burst's first transaction, for every row of every burst."""
    gaps = rng.exponential(BURST_GAP_SECONDS, size=len(group))
    gaps[starts] = 0.0
    total = np.cumsum(gaps)
    return (total - total[starts][group]).astype(np.int64)


def fraud_transactions(
    rng: np.random.Generator,
    customers: Customers,
    index: MerchantIndex,
    day: int,
    effects: DayEffects,
) -> TxBatch:
    """Generate the fraudsters' transactions on the cards under an episode today.

    Classic episodes: bursts of larger, often foreign, often night-time purchases at risky
    merchants (gift cards, electronics, digital goods, cash), sometimes preceded by small
    domestic card-testing charges. New-pattern episodes: domestic, daytime, small
    digital-goods purchases online at ordinary merchants.

    Args:
        rng: Random generator.
        customers: All customers.
        index: Merchant lookup.
        day: Day index.
        effects: The scenario parameters of the day.

    Returns:
        The day's episode transactions.
    """
    episode = np.flatnonzero((customers.episode_start <= day) & (customers.episode_end >= day))
    m = len(episode)
    episode_kind = customers.episode_kind[episode]
    is_new = episode_kind == NEW_PATTERN
    first_day = customers.episode_start[episode] == day
    n_main = np.where(is_new, 3 + rng.poisson(5.0, size=m), 1 + rng.poisson(3.0, size=m))
    tests = first_day & ~is_new & (rng.random(m) < CARD_TESTING_SHARE)
    n_test = np.where(tests, rng.integers(1, 4, size=m), 0)
    per_group = n_test + n_main
    starts = (np.cumsum(per_group) - per_group).astype(np.int64)
    group = np.repeat(np.arange(m), per_group)
    n = len(group)
    position = np.arange(n) - starts[group]
    kind = np.where(position < n_test[group], CARD_TESTING, episode_kind[group])
    classic = kind == CLASSIC
    new = kind == NEW_PATTERN
    customer = episode[group]
    home = customers.home[customer]

    category = np.where(
        classic,
        sample_fixed(rng, catalog.FRAUD_CATEGORY_WEIGHTS, n),
        uniform_choice(rng.random(n), CARD_TESTING_CATEGORIES),
    )
    category = np.where(new, DIGITAL_GOODS, category)
    abroad = classic & (rng.random(n) < FOREIGN_SHARE)
    country = np.where(abroad, sample_fixed(rng, catalog.FRAUD_COUNTRY_WEIGHTS, n), home)
    u = rng.random(n)
    merchant = np.where(
        new,
        index.pick(category, country, u, fraud=False),
        index.pick(category, country, u, fraud=True),
    )
    merchants = index.merchants
    category = merchants.category[merchant]
    country = merchants.country[merchant]
    channel = np.where(
        classic,
        draw_channels(rng, index, merchant, catalog.FRAUD_CHANNEL_BOOST),
        draw_channels(rng, index, merchant, ONLINE_ONLY),
    )

    night = rng.random(m) < NIGHT_SHARE
    base = diurnal_seconds(rng, night)
    daytime = uniform_choice(rng.random(m), catalog.DAYTIME_HOURS) * 3600
    base = np.where(is_new, daytime + rng.integers(0, 3600, size=m), base)
    second = np.minimum(base[group] + _burst_offsets(rng, group, starts), SECONDS_PER_DAY - 1)

    classic_raw = (
        customers.typical_amount[customer]
        * catalog.CATEGORY_AMOUNT_FACTOR[category]
        * rng.lognormal(mean=0.9, sigma=0.7, size=n)
    )
    test_raw = rng.uniform(0.5, 5.0, size=n)
    new_raw = rng.lognormal(mean=np.log(12.0), sigma=0.5, size=n)
    raw = np.where(classic, classic_raw, np.where(new, new_raw, test_raw))
    p_fraud = np.where(
        kind == CARD_TESTING, rng.beta(5.0, 2.0, size=n), rng.beta(14.0, 1.5, size=n)
    )
    return TxBatch(
        customer=customer,
        merchant=merchant,
        category=category,
        channel=channel,
        country=country,
        amount=finish_amounts(raw * effects.amount_factor, category),
        second=second,
        p_fraud=p_fraud,
        kind=kind.astype(np.int64),
    )
