"""Validation of actions: refuse bad input with a clear error before anything changes."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.errors import InvalidActionError


def as_allocation(action: Any, space: spaces.Box) -> np.ndarray:
    """``action`` as float64 allocation weights in ``space``, or an :class:`InvalidActionError`.

    Accepts any real array of ``space``'s shape whose entries are finite, within the bounds, and not
    all zero.
    """
    try:
        weights = np.asarray(action)
    except Exception as error:  # e.g. ragged nested lists
        raise InvalidActionError(f"action {action!r} is not an array: {error}") from None
    if weights.dtype == object or not (
        np.issubdtype(weights.dtype, np.floating) or np.issubdtype(weights.dtype, np.integer)
    ):
        raise InvalidActionError(
            f"action dtype {weights.dtype} is not a real number type; expected weights of {space}"
        )
    if weights.shape != space.shape:
        raise InvalidActionError(f"action shape {weights.shape} does not match {space}")
    weights = weights.astype(np.float64)
    if not np.all(np.isfinite(weights)):
        raise InvalidActionError(f"action has NaN or inf: {weights.tolist()}; expected weights of {space}")
    if np.any(weights < space.low) or np.any(weights > space.high):
        raise InvalidActionError(
            f"action {weights.tolist()} is outside {space} (weights in [{space.low.min()}, "
            f"{space.high.max()}])"
        )
    if weights.sum() <= 0:
        raise InvalidActionError(f"action weights are all zero; expected a positive sum in {space}")
    return weights
