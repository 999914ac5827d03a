"""Suspicious reviews for moderation: near-duplicates across customers, bursts on one product, and ratings
that contradict the text. Each review gets a score (0-1) and human-readable reasons.

Near-duplicates use MinHash signatures over character 5-shingles with LSH banding (so the work grows with
the number of reviews, not its square); candidate pairs are confirmed with the exact Jaccard similarity.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .topics import fold_text

_MERSENNE = (1 << 61) - 1


@dataclass(frozen=True)
class SuspicionParams:
    """Thresholds of the three checks and the weight each adds to the score."""

    shingle_size: int = 5
    permutations: int = 64
    bands: int = 16
    min_text_chars: int = 25  # "ótimo produto" is written by thousands of honest customers
    duplicate_jaccard: float = 0.8
    burst_window_hours: int = 24
    burst_min_reviews: int = 5
    burst_factor: float = 5.0
    contradiction_probability: float = 0.8
    duplicate_weight: float = 0.6
    burst_weight: float = 0.3
    contradiction_weight: float = 0.4


def shingles(text: str, size: int) -> set[int]:
    folded = fold_text(text)
    if len(folded) < size:
        return {_hash(folded)} if folded else set()
    return {_hash(folded[i : i + size]) for i in range(len(folded) - size + 1)}


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little")


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def minhash_signatures(sets: list[set[int]], *, permutations: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _MERSENNE, size=permutations, dtype=np.uint64)
    b = rng.integers(0, _MERSENNE, size=permutations, dtype=np.uint64)
    signatures = np.full((len(sets), permutations), np.iinfo(np.uint64).max, dtype=np.uint64)
    for row, values in enumerate(sets):
        if not values:
            continue
        x = np.fromiter(values, dtype=np.uint64) % np.uint64(_MERSENNE)
        # (a*x + b) mod p computed in float-free uint64 arithmetic: wraparound is fine for hashing.
        hashed = (x[:, None] * a[None, :] + b[None, :]) % np.uint64(_MERSENNE)
        signatures[row] = hashed.min(axis=0)
    return signatures


def near_duplicate_pairs(texts: list[str], params: SuspicionParams | None = None) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) whose texts have Jaccard similarity ≥ ``duplicate_jaccard``."""
    params = params or SuspicionParams()
    sets = [shingles(t, params.shingle_size) if len(fold_text(t)) >= params.min_text_chars else set() for t in texts]
    signatures = minhash_signatures(sets, permutations=params.permutations)
    rows = params.permutations // params.bands
    candidates: set[tuple[int, int]] = set()
    for band in range(params.bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for index, values in enumerate(sets):
            if values:
                buckets[signatures[index, band * rows : (band + 1) * rows].tobytes()].append(index)
        for members in buckets.values():
            for i, first in enumerate(members):
                for second in members[i + 1 :]:
                    candidates.add((first, second))
    pairs = []
    for first, second in sorted(candidates):
        similarity = jaccard(sets[first], sets[second])
        if similarity >= params.duplicate_jaccard:
            pairs.append((first, second, round(similarity, 3)))
    return pairs


def score_suspicious(reviews: pd.DataFrame, params: SuspicionParams | None = None) -> pd.DataFrame:
    """Score reviews for moderation.

    ``reviews`` columns: ``id``, ``text``, ``customer`` (may be empty), ``product`` (may be empty),
    ``score`` (1-5 or NaN), ``created_at`` (datetime or NaT), ``sentiment`` and ``probability`` (predicted).
    Returns ``id``, ``suspicious_score`` and ``reasons`` (a list of strings), in the input order.
    """
    params = params or SuspicionParams()
    frame = reviews.reset_index(drop=True)
    score = np.zeros(len(frame))
    reasons: list[list[str]] = [[] for _ in range(len(frame))]

    texts = frame["text"].fillna("").astype(str).tolist()
    customers = frame["customer"].fillna("").astype(str).tolist()
    duplicate_of: dict[int, tuple[int, float]] = {}
    for first, second, similarity in near_duplicate_pairs(texts, params):
        if customers[first] and customers[first] == customers[second]:
            continue  # one customer reviewing two orders alike is not suspicious
        for index, other in ((first, second), (second, first)):
            if index not in duplicate_of or similarity > duplicate_of[index][1]:
                duplicate_of[index] = (other, similarity)
    for index, (other, similarity) in duplicate_of.items():
        kind = "duplicate" if similarity >= 0.999 else f"near-duplicate ({similarity:.0%} similar)"
        score[index] += params.duplicate_weight * (1.0 if similarity >= 0.999 else similarity)
        reasons[index].append(f"{kind} of review {frame.at[other, 'id']} by another customer")

    if "product" in frame and frame["created_at"].notna().any():
        window = pd.Timedelta(hours=params.burst_window_hours)
        timed = frame[frame["product"].fillna("").astype(str).ne("") & frame["created_at"].notna()]
        for product, group in timed.groupby("product"):
            if len(group) < params.burst_min_reviews:
                continue
            times = pd.to_datetime(group["created_at"], utc=True).sort_values()
            span_days = max((times.iloc[-1] - times.iloc[0]) / pd.Timedelta(days=1), 1.0)
            typical = len(times) / span_days * (params.burst_window_hours / 24)
            values = times.to_numpy()
            for position, index in enumerate(times.index):
                start = np.searchsorted(values, values[position] - np.timedelta64(window), side="left")
                end = np.searchsorted(values, values[position] + np.timedelta64(window), side="right")
                in_window = int(end - start)
                if in_window >= params.burst_min_reviews and in_window >= params.burst_factor * typical:
                    score[index] += params.burst_weight
                    reasons[index].append(
                        f"burst: {in_window} reviews of product {product} within {params.burst_window_hours}h "
                        f"(typical {typical:.1f})"
                    )

    for index, row in frame.iterrows():
        stars, label, probability = row.get("score"), row.get("sentiment"), row.get("probability")
        if pd.isna(stars) or not label or pd.isna(probability) or probability < params.contradiction_probability:
            continue
        if stars >= 4 and label == "negative" or stars <= 2 and label == "positive":
            score[index] += params.contradiction_weight
            reasons[index].append(f"rating {int(stars)}★ contradicts {label} text (p={probability:.2f})")

    return pd.DataFrame(
        {"id": frame["id"], "suspicious_score": np.round(np.minimum(score, 1.0), 3), "reasons": reasons}
    )
