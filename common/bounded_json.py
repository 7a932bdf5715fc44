"""JSON from outside, bounded (issue 12, point 5): every parsed file and request goes through
`loads`, which refuses with ValueError (never RecursionError or OverflowError) what is nested
too deeply or holds a number that is not finite."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64  # the deepest real payload (a .HNOT, a PRONOTE.net reply) nests about 8


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; ValueError saying what is wrong for anything but plain, finite, shallow JSON."""
    try:
        value = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels") from None
    if _depth(value, max_depth) > max_depth:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels")
    return value


def _depth(value: Any, limit: int) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
