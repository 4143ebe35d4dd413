"""Counter-based random numbers: every draw is a pure function of a key and a counter.

A simulated episode that draws from counter-based streams needs no generator object per episode,
and its draws do not depend on the order or number of earlier draws: ``N`` episodes draw at once
with array operations, an episode draws the same numbers in a batch of any size, and an answer
that is never read (a validation test that nobody looks at) need not be drawn at all.

Each draw is SplitMix64's output function (Steele, Lea & Flood 2014, the finaliser of Java's
``SplittableRandom``) applied to ``key + (index + 1) * golden gamma``: the ``index``-th output of the
SplitMix64 generator started at ``key``. Keys of sub-streams are derived by mixing labels into a key
(:func:`derive`). Versions of the envs that use these streams say so (``random_numbers="counter"``);
their trajectories differ from those of the per-episode numpy generators of earlier versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11, _S40 = (np.uint64(k) for k in (30, 27, 31, 11, 40))
_UNIT = 1.0 / 2**53


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function of uint64 ``x`` (wrapping arithmetic, elementwise; at least 1-d,
    as numpy warns about wrapping in scalar arithmetic only)."""
    x = np.array(x, dtype=np.uint64, ndmin=1)
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)  # type: ignore[no-any-return]


def keys_of(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """uint64 keys ``(n,)`` of non-negative integers below ``2**64`` (a seed per episode)."""
    return mix(np.asarray(values, dtype=np.uint64).reshape(-1))


def derive(keys: np.ndarray, *labels: int | np.ndarray) -> np.ndarray:
    """Keys of a sub-stream: ``keys`` with each label mixed in, in turn. A label is an int or an
    array that broadcasts with ``keys`` (a step counter per episode)."""
    out = np.asarray(keys, dtype=np.uint64)
    for label in labels:
        out = mix(out ^ mix(np.array(label, dtype=np.uint64, ndmin=1) + _GAMMA))
    return out


def bits(keys: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Raw uint64 draws ``(*keys.shape, *shape)``: draw ``j`` (row-major over ``shape``) of each key."""
    keys = np.asarray(keys, dtype=np.uint64)
    size = int(np.prod(shape, dtype=np.int64))
    index = (np.arange(1, size + 1, dtype=np.uint64) * _GAMMA).reshape(tuple(shape))
    return mix(keys.reshape(keys.shape + (1,) * len(shape)) + index)


def to_unit(raw: np.ndarray) -> np.ndarray:
    """float64 in ``[0, 1)`` from uint64 draws (their top 53 bits)."""
    # Through int64 (exact: the value is below 2**53): numpy converts uint64 to float without SIMD.
    return (raw >> _S11).view(np.int64).astype(np.float64) * _UNIT


def to_unit32(raw: np.ndarray) -> np.ndarray:
    """float32 in ``[0, 1)`` from uint64 draws (their top 24 bits)."""
    return (raw >> _S40).view(np.int64).astype(np.float32) * np.float32(2.0**-24)  # type: ignore[no-any-return]


def uniform(keys: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Uniform draws in ``[0, 1)``, ``(*keys.shape, *shape)``."""
    return to_unit(bits(keys, shape))


def normal(keys: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Standard normal draws ``(*keys.shape, *shape)`` (Box-Muller on two uniform sub-streams)."""
    radius = np.sqrt(-2.0 * np.log1p(-uniform(derive(keys, 1), shape)))  # 1 - u is in (0, 1]
    return radius * np.cos(2.0 * np.pi * uniform(derive(keys, 2), shape))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CounterStreams:
    """Counter-based streams of ``n`` episodes: what episode ``i`` draws depends only on ``keys[i]``
    and ``counter[i]`` (its step), never on other episodes or earlier draws.

    Attributes:
        keys: uint64 ``(n,)``, each episode's key.
        counter: uint64 ``(n,)``, each episode's counter (e.g. its step).
    """

    keys: np.ndarray
    counter: np.ndarray

    def normal(self, shape: Sequence[int]) -> np.ndarray:
        """``(n, *shape)`` standard normal draws."""
        return normal(derive(self.keys, self.counter), shape)


@dataclass(frozen=True)
class EpisodeKeys:
    """The keys of ``n`` episodes' counter-based streams (a value the loop's state holds, sliced and
    replaced with it). ``at(counter)`` gives the streams of one counter value per episode.

    Attributes:
        keys: uint64 ``(n,)``.
    """

    keys: np.ndarray

    def at(self, counter: np.ndarray) -> CounterStreams:
        return CounterStreams(self.keys, np.asarray(counter, dtype=np.uint64))
