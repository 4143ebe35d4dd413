"""Engines turn a teaching :class:`Plan` into a batch of training examples.

``ProceduralEngine`` asks a domain to generate fresh items; ``PoolEngine`` selects items from a
finite training pool (STAT-Sel's setting: reweighting existing data). The text engines of
:mod:`teachgym.text_engines` (``"noisy-teacher"``, ``"llm"``) implement the same ``generate(plan, rng)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from teachgym.domains.base import Items
from teachgym.errors import ConfigError
from teachgym.registry_utils import call_checked, load, lookup
from teachgym.students.members import stack_rows


@dataclass(frozen=True)
class Plan:
    """How many training examples each population member gets per (skill, level).

    Attributes:
        counts: int64 ``(P, K, L)``; every member's counts sum to the same number of examples.
    """

    counts: np.ndarray

    @property
    def num_examples(self) -> int:
        """Examples per member."""
        return int(self.counts[0].sum())

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Skill and level of every planned example, each ``(P, M)``, grouped by cell."""
        num_members, num_skills, num_levels = self.counts.shape
        cell_ids = np.tile(np.arange(num_skills * num_levels), num_members)
        cells = np.repeat(cell_ids, self.counts.ravel()).reshape(num_members, -1)
        return cells // num_levels, cells % num_levels


def allocate(weights: np.ndarray, num_examples: int) -> np.ndarray:
    """Integer counts proportional to non-negative ``weights`` (any shape, per leading member).

    Largest-remainder rounding (Hamilton's method): counts sum exactly to ``num_examples`` and no
    count is off its share by a whole example. Ties break towards the lower index, deterministically.

    Args:
        weights: ``(P, ...)`` non-negative, each member's weights with a positive sum.
        num_examples: examples per member.
    """
    flat = weights.reshape(weights.shape[0], -1).astype(np.float64)
    share = flat / flat.sum(axis=1, keepdims=True) * num_examples
    counts = np.floor(share).astype(np.int64)
    remainder = share - counts
    missing = num_examples - counts.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")
    ranks = np.argsort(order, axis=1, kind="stable")
    counts += ranks < missing[:, None]
    return counts.reshape(weights.shape)


class Engine(Protocol):
    """Turns a plan into a ``(P, M)`` batch of training items."""

    def generate(self, plan: Plan, rng: np.random.Generator) -> Items: ...


class ProceduralEngine:
    """Fresh items from a domain's generator for every planned (skill, level)."""

    def __init__(self, domain: object) -> None:
        if not hasattr(domain, "generate"):
            raise ConfigError(f"{type(domain).__name__} has no procedural generator; use PoolEngine")
        self.domain = domain

    def generate(self, plan: Plan, rng: np.random.Generator) -> Items:
        skill, level = plan.cells()
        items: Items = self.domain.generate(skill.ravel(), level.ravel(), rng)  # type: ignore[attr-defined]
        return items.reshape(*skill.shape)

    def generate_each(self, plan: Plan, rngs: Any) -> Items:
        """Row ``i`` of the ``(n, M)`` batch is what :meth:`generate` gives for row ``i`` of ``plan``
        drawn from ``rngs[i]``; at once where the domain offers ``generate_each`` (which also takes
        counter-based streams, :class:`teachgym.counter.CounterStreams`)."""
        skill, level = plan.cells()
        batched = getattr(self.domain, "generate_each", None)
        if batched is not None:
            return batched(skill, level, rngs)  # type: ignore[no-any-return]
        rows = [self.domain.generate(s, lv, rng) for s, lv, rng in zip(skill, level, rngs, strict=True)]  # type: ignore[attr-defined]
        return stack_rows([row.reshape(1, -1) for row in rows])


class PoolEngine:
    """Items drawn with replacement from a finite training pool, uniformly within each (skill, level).

    Args:
        pool: the training items, shape ``(N,)``. Every (skill, level) a plan asks for must occur.
        num_levels: levels of the skill space (to index cells).
    """

    def __init__(self, pool: Items, num_skills: int, num_levels: int) -> None:
        self.pool = pool
        self.num_levels = num_levels
        cell = pool.skill * num_levels + pool.level
        order = np.argsort(cell, kind="stable")
        self._sorted = order
        self._start = np.searchsorted(cell[order], np.arange(num_skills * num_levels))
        self._size = np.bincount(cell, minlength=num_skills * num_levels)
        if np.any(self._size == 0):
            empty = [divmod(int(c), num_levels) for c in np.flatnonzero(self._size == 0)]
            raise ConfigError(
                f"the training pool has no item for (skill, level) {empty}; every cell needs one"
            )

    def generate(self, plan: Plan, rng: np.random.Generator) -> Items:
        skill, level = plan.cells()
        cell = skill * self.num_levels + level
        pick = self._start[cell] + (rng.random(cell.shape) * self._size[cell]).astype(np.int64)
        return self.pool.take(self._sorted[pick])


def _pool_engine(domain: object) -> PoolEngine:
    if not hasattr(domain, "train_pool"):
        raise ConfigError(f"{type(domain).__name__} has no finite training pool; use 'procedural'")
    skills = domain.skills  # type: ignore[attr-defined]
    return PoolEngine(domain.train_pool(), skills.num_skills, skills.num_levels)


#: Engine name -> builder taking the domain and keyword options, given as a callable or as
#: ``"module:function"`` imported on first use (the text engines load transformers only when asked for).
ENGINES: dict[str, Callable[..., Any] | str] = {
    "procedural": ProceduralEngine,
    "pool": _pool_engine,
    "noisy-teacher": "teachgym.text_engines:noisy_teacher_engine",
    "llm": "teachgym.text_engines:llm_engine",
}


def make_engine(name: str, domain: object, options: Mapping[str, Any] | None = None) -> Engine:
    """The engine registered as ``name`` (see :data:`ENGINES`) over ``domain``, built with the keyword
    ``options`` (e.g. ``{"error_rate": 0.3}`` for ``"noisy-teacher"``; none for ``"procedural"`` and
    ``"pool"``).

    Raises:
        UnknownNameError: ``name`` is not registered.
        ConfigError: an option the engine does not take (the message lists those it does), or a bad
            value.
    """
    builder = lookup(ENGINES, name, "engine")
    if isinstance(builder, str):
        builder = load(builder)
    engine: Engine = call_checked(
        builder, {} if options is None else options, f"engine {name!r}", domain=domain
    )
    return engine
