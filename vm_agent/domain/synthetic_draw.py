"""Deterministic draws keyed by name, for the parts of a synthetic school computed on read.

`random.Random` draws depend on everything drawn before; these depend only on the school's
seed and the item's key (a lesson id and day, a homework id), so a lesson's content, a
day's menu or a person's address can be computed alone, in any order, and counted without
generating the rest (the counters of a base cost no memory for its data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_SCALE = float(1 << 64)


def draw(seed: str, *key: object) -> float:
    """A number in [0, 1), always the same for this seed and key."""
    text = "|".join([seed, *(str(k) for k in key)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / _SCALE


def pick(items: Sequence[T], seed: str, *key: object) -> T:
    """One of `items` (not empty), always the same for this seed and key."""
    return items[int(draw(seed, *key) * len(items))]


def digits(count: int, seed: str, *key: object) -> str:
    """`count` decimal digits, always the same for this seed and key."""
    value = int(draw(seed, *key) * _SCALE)
    return f"{value % 10**count:0{count}d}"
