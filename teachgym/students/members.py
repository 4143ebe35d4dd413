"""Members of a population, one at a time or in groups: what a batched vector env needs.

A batched vector env (:mod:`teachgym.vector`) holds one population student for its ``N`` envs. The
big calls of a step (training on the step's batches, answering the validation split) go to the whole
population at once; what a family does with one env's student alone (a tutoring probe, the next
item of an intervention stream, a final test) goes through a :class:`MemberStudent`, a one-member
view of member ``p``.

Every population student offers, besides the :class:`~teachgym.students.base.Student` protocol:

- ``reset_each(seeds)``: member ``p`` becomes what a one-member student reset with ``seeds[p]`` is;
- ``select(members)``: a population of those members (state copied, generators shared);
- ``scatter(members, sub)``: write ``sub``'s state back into those members.

With these, a member trains, answers and resets exactly as it would alone, in a population of any
size: the vector env's trajectories equal those of single envs (tested per family).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from operator import methodcaller
from typing import Any, TypeVar

import numpy as np

from teachgym.errors import ConfigError

Batch = TypeVar("Batch")


def stack_rows(batches: Sequence[Batch]) -> Batch:
    """One batch whose row ``p`` is ``batches[p]`` (each ``(1, M, ...)``, equal ``M``): ``(P, M, ...)``.

    Works on any dataclass of arrays (``Items``, ``TextItems``), field by field; nested dataclasses
    are stacked the same way and ``None`` fields stay ``None``.
    """
    first = batches[0]

    def one(values: list[Any]) -> Any:
        if values[0] is None:
            return None
        if dataclasses.is_dataclass(values[0]):
            return stack_rows(values)
        return np.concatenate(values, axis=0)

    return type(first)(  # type: ignore[return-value]
        **{f.name: one([getattr(b, f.name) for b in batches]) for f in dataclasses.fields(first)}  # type: ignore[arg-type]
    )


def group_indices(keys: Sequence[Any]) -> list[list[int]]:
    """Indices grouped by equal key, groups in order of first appearance."""
    found: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        found.setdefault(key, []).append(i)
    return list(found.values())


def on_members(population: Any, members: Sequence[int], call: Callable[[Any], Any]) -> Any:
    """``call(student)`` on the ``members`` of ``population``: the population itself when they are
    all of it in order, else a :meth:`select`-ed sub-population whose state is then written back."""
    members = list(members)
    if members == list(range(population.num_members)):
        return call(population)
    sub = population.select(members)
    result = call(sub)
    population.scatter(members, sub)
    return result


def learn_each(population: Any, members: Sequence[int], batches: Sequence[Any]) -> list[int]:
    """Member ``members[i]`` trains on ``batches[i]`` (``(1, M_i)``); members with equal ``M`` train
    as one batched group. Returns each member's compute (its share of its group's)."""
    compute = [0] * len(members)
    for group in group_indices([len(b) for b in batches]):
        stacked = stack_rows([batches[i] for i in group])
        spent = on_members(population, [members[i] for i in group], methodcaller("learn", stacked))
        for i in group:
            compute[i] = spent // len(group)
    return compute


def reset_each(population: Any, members: Sequence[int], seeds: Sequence[np.random.SeedSequence]) -> None:
    """Member ``members[i]`` becomes the learner a one-member student reset with ``seeds[i]`` is."""
    on_members(population, members, lambda s: s.reset_each(list(seeds)))


def attempt_shared(population: Any, members: Sequence[int], items: Any) -> np.ndarray:
    """The ``members``' answers to shared held-out ``items (M,)``: ``(len(members), M, ...)``."""
    return np.asarray(on_members(population, members, lambda s: s.attempt(items)))


class MemberStudent:
    """Member ``index`` of ``population`` as a one-member student.

    Training, answering and resetting act on that member alone (through ``select``/``scatter``);
    any other attribute (e.g. ``expected_accuracy`` for privileged references, ``fits``) is read from
    a one-member copy, so it sees the member's state but cannot change it. ``clock`` (simulated
    learners) reads and writes the member's own clock.
    """

    num_members = 1

    def __init__(self, population: Any, index: int) -> None:
        if not 0 <= index < population.num_members:
            raise ConfigError(
                f"member index {index} is out of range for a population of {population.num_members}"
            )
        self.__dict__["_population"] = population
        self.__dict__["_index"] = index

    def _on(self, call: Callable[[Any], Any]) -> Any:
        return on_members(self._population, [self._index], call)

    def reset(self, seed: np.random.SeedSequence) -> None:
        self._on(lambda s: s.reset_each([seed]))

    def learn(self, batch: Any) -> int:
        return int(self._on(lambda s: s.learn(batch)))

    def attempt(self, items: Any) -> np.ndarray:
        return np.asarray(self._on(lambda s: s.attempt(items)))

    def assess(self, items: Any) -> Any:
        return self._on(lambda s: s.assess(items))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._population.select([self._index]), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "clock":
            raise AttributeError(f"a member view cannot set {name!r}; only 'clock' is per member")
        self._population.clock[self._index] = np.asarray(value).reshape(-1)
