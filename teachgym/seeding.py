"""Seed derivation that never mutates its input: the same seed always gives the same children."""

from __future__ import annotations

import numpy as np

from teachgym.config import check_int
from teachgym.errors import ConfigError


def children(seed: np.random.SeedSequence, num_children: int) -> list[np.random.SeedSequence]:
    """The first ``num_children`` children of ``seed``, derived without changing ``seed``.

    Child ``i`` is ``SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i))`` (with the same
    ``pool_size``): exactly the ``i``-th child that ``seed.spawn`` returns on a fresh ``seed``, but
    ``seed.spawn`` also advances ``seed.n_children_spawned``, so a second call would return new
    children. Here the answer depends only on ``seed``'s entropy and spawn key, so calling twice
    (e.g. two resets with the same seed object) gives the same children, and ``children(seed, n)``
    is a prefix of ``children(seed, m)`` for ``n <= m``.

    Raises:
        ConfigError: ``seed`` is not a ``numpy.random.SeedSequence`` or ``num_children`` is not an
            int >= 0.
    """
    if not isinstance(seed, np.random.SeedSequence):
        raise ConfigError(f"children() needs a numpy.random.SeedSequence, got {type(seed).__name__} {seed!r}")
    count = check_int("children()", "num_children", num_children, 0)
    return [
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size)
        for i in range(count)
    ]
