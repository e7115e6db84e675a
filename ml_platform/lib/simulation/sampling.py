"""Vectorised sampling helpers: per-row categorical draws and merchant lookup."""

from __future__ import annotations

import numpy as np

from ml_platform.lib.simulation import catalog
from ml_platform.lib.simulation.entities import Merchants


def sample_cumulative(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one category per row from per-row cumulative probabilities.

    Args:
        cumulative: (n, k) cumulative probabilities, last column ~1.
        u: (n,) uniform draws in [0, 1).

    Returns:
        (n,) category codes in [0, k).
    """
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    scaled = u * cumulative[:, -1]
    codes = (cumulative < scaled[:, None]).sum(axis=1)
    return np.minimum(codes, cumulative.shape[1] - 1).astype(np.int64)


def sample_weighted(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one category per row from per-row (unnormalised) weights.

    Args:
        weights: (n, k) non-negative weights with a positive sum in every row.
        u: (n,) uniform draws in [0, 1).

    Returns:
        (n,) category codes in [0, k).
    """
    return sample_cumulative(np.cumsum(weights, axis=1), u)


def sample_fixed(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` codes from one fixed weight vector."""
    return rng.choice(len(weights), size=size, p=catalog.normalized(weights)).astype(np.int64)


def uniform_choice(u: np.ndarray, options: np.ndarray) -> np.ndarray:
    """Pick an element of ``options`` uniformly for every uniform draw in ``u``."""
    return options[np.minimum((u * len(options)).astype(np.int64), len(options) - 1)]


class MerchantIndex:
    """Finds a merchant of a given category in a given country, by weight, vectorised.

    Merchants are sorted by (category, country); each (category, country) bucket and each
    category are contiguous ranges. When a bucket is empty the whole category is used, and
    when the category is empty every merchant is.
    """

    def __init__(self, merchants: Merchants) -> None:
        """Index ``merchants`` by category and country."""
        self.merchants = merchants
        keys = merchants.category * catalog.N_COUNTRIES + merchants.country
        self._order = np.argsort(keys, kind="stable")
        sorted_keys = keys[self._order]
        all_keys = np.arange(catalog.N_CATEGORIES * catalog.N_COUNTRIES)
        self._bucket_start = np.searchsorted(sorted_keys, all_keys, side="left")
        self._bucket_count = (
            np.searchsorted(sorted_keys, all_keys, side="right") - self._bucket_start
        )
        category_first_key = np.arange(catalog.N_CATEGORIES) * catalog.N_COUNTRIES
        self._category_start = np.searchsorted(sorted_keys, category_first_key, side="left")
        self._category_count = (
            np.searchsorted(sorted_keys, category_first_key + catalog.N_COUNTRIES, side="left")
            - self._category_start
        )
        popularity = merchants.popularity[self._order]
        risk = merchants.risk[self._order]
        self._legit_cum = np.concatenate([[0.0], np.cumsum(popularity)])
        self._fraud_cum = np.concatenate([[0.0], np.cumsum(popularity * risk**2)])

    def pick(
        self, category: np.ndarray, country: np.ndarray, u: np.ndarray, *, fraud: bool = False
    ) -> np.ndarray:
        """Pick one merchant position per row.

        Args:
            category: Wanted category code per row.
            country: Wanted country code per row.
            u: Uniform draws in [0, 1) per row.
            fraud: Weight by popularity x risk^2 (a fraudster's choice) instead of popularity.

        Returns:
            Merchant positions (merchant_id - 1).
        """
        key = category * catalog.N_COUNTRIES + country
        start = self._bucket_start[key]
        count = self._bucket_count[key]
        empty = count == 0
        start = np.where(empty, self._category_start[category], start)
        count = np.where(empty, self._category_count[category], count)
        empty = count == 0
        start = np.where(empty, 0, start)
        count = np.where(empty, len(self.merchants), count)
        cum = self._fraud_cum if fraud else self._legit_cum
        low = cum[start]
        high = cum[start + count]
        target = low + u * (high - low)
        position = np.searchsorted(cum[1:], target, side="right")
        position = np.clip(position, start, start + count - 1)
        return self._order[position]
