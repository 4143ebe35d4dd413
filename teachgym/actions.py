"""Validation of actions: refuse bad input with a clear error before anything changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from gymnasium import spaces

from teachgym.errors import InvalidActionError

T = TypeVar("T")


def as_allocation(action: Any, space: spaces.Box) -> np.ndarray:
    """``action`` as float64 allocation weights in ``space``, or an :class:`InvalidActionError`.

    Accepts any real array of ``space``'s shape whose entries are finite, within the bounds, and not
    all zero.
    """
    if isinstance(action, np.ma.MaskedArray):
        raise InvalidActionError(f"action is a masked array; expected plain weights of {space}")
    try:
        weights = np.asarray(action)
    except Exception as error:  # e.g. ragged nested lists
        raise InvalidActionError(f"action {_short(action)} is not an array: {error}") from None
    # Real numbers only: kinds f (float), i (int), u (unsigned); not bool, complex, time or objects.
    if weights.dtype.kind not in "fiu":
        raise InvalidActionError(
            f"action dtype {weights.dtype} is not a real number type; expected weights of {space}"
        )
    if weights.shape != space.shape:
        raise InvalidActionError(f"action shape {weights.shape} does not match {space}")
    weights = weights.astype(np.float64)
    if not np.all(np.isfinite(weights)):
        raise InvalidActionError(f"action has NaN or inf: {_short(weights)}; expected weights of {space}")
    if np.any(weights < space.low) or np.any(weights > space.high):
        raise InvalidActionError(
            f"action {_short(weights)} is outside {space} (weights in [{space.low.min()}, "
            f"{space.high.max()}])"
        )
    if weights.sum() <= 0:
        raise InvalidActionError(f"action weights are all zero; expected a positive sum in {space}")
    return weights


def as_allocations(actions: Sequence[Any], space: spaces.Box) -> np.ndarray:
    """``n`` actions (a list, or an ``(n, *space.shape)`` batch) as float64 weights ``(n, ...)``, checked
    as :func:`as_allocation` checks one; the first bad one is refused with its message (naming its
    env where ``n > 1``) before anything changes."""
    plain = isinstance(actions, np.ndarray) and not isinstance(actions, np.ma.MaskedArray)
    batch = np.asarray(actions) if plain else None
    if batch is not None and batch.dtype.kind in "fiu" and batch.shape[1:] == space.shape:
        weights = batch.astype(np.float64)
        flat = weights.reshape(len(weights), -1)
        if (
            np.all(np.isfinite(flat))
            and np.all(weights >= space.low)
            and np.all(weights <= space.high)
            and np.all(flat.sum(axis=1) > 0)
        ):
            return weights
    return np.stack(each(actions, lambda action: as_allocation(action, space)))


def as_discretes(actions: Sequence[Any], space: spaces.Discrete) -> np.ndarray:
    """``n`` actions (a list, or an int ``(n,)`` batch) as int64 ``(n,)`` values in ``space``, checked as
    :func:`as_discrete` checks one; the first bad one is refused with its message
    (naming its env where ``n > 1``) before anything changes."""
    low, high = int(space.start), int(space.start + space.n)
    if (
        isinstance(actions, np.ndarray)
        and not isinstance(actions, np.ma.MaskedArray)
        and actions.dtype.kind in "iu"
        and actions.ndim == 1
        and actions.size
        and actions.min() >= low
        and actions.max() < high
    ):
        return actions.astype(np.int64)
    return np.array(each(actions, lambda action: as_discrete(action, space)), dtype=np.int64)


def each(actions: Sequence[Any], check: Callable[[Any], T]) -> list[T]:
    """``check(action)`` of every one of ``n`` actions; a refusal names its env where ``n > 1``
    ("env 3 of the vector env: ..."), as the vector env's errors do."""
    out = []
    for index, action in enumerate(actions):
        try:
            out.append(check(action))
        except InvalidActionError as error:
            if len(actions) == 1:
                raise
            raise InvalidActionError(f"env {index} of the vector env: {error}") from None
    return out


def _short(value: Any) -> str:
    """A one-line, bounded description of an action for error messages."""
    text = (
        np.array2string(value, threshold=20, max_line_width=10**6)
        if isinstance(value, np.ndarray)
        else repr(value)
    )
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def as_discrete(action: Any, space: spaces.Discrete) -> int:
    """``action`` as a Python int in ``space``, or an :class:`InvalidActionError`.

    Accepts Python and numpy integers and 0-d or one-element integer arrays (what SB3 and vector
    envs pass); refuses bools, floats, NaN, strings and values out of range.
    """
    if isinstance(action, bool | np.bool_):
        raise InvalidActionError(f"action {action!r} is a bool; expected an int in {space}")
    try:
        array = np.asarray(action) if not isinstance(action, str) else None
    except Exception:  # e.g. ragged nested lists, a torch tensor that requires grad
        array = None
    if array is None or array.dtype.kind not in "iu" or array.size != 1 or array.ndim > 1:
        raise InvalidActionError(f"action {_short(action)} is not an integer; expected an int in {space}")
    value = int(array.reshape(()))
    if not space.start <= value < space.start + space.n:
        raise InvalidActionError(
            f"action {value} is out of range; expected an int in [{space.start}, {space.start + space.n - 1}]"
        )
    return value
