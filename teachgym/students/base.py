"""The Student protocol: a population of learners with a leading member dimension."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from teachgym.domains.base import Items
from teachgym.skills import Profile


@runtime_checkable
class Student(Protocol):
    """A population of ``num_members`` learners that train and answer together.

    A single environment holds a population of one; a batched vector environment holds many. Every
    array a student takes or returns has the population as its leading dimension, except held-out
    items, which are shared by all members.
    """

    num_members: int

    def reset(self, seed: np.random.SeedSequence) -> None:
        """Draw fresh learners (initial knowledge, traits, weights) from ``seed``."""
        ...

    def learn(self, batch: Items) -> int:
        """Train every member on its own examples, ``batch`` of shape ``(P, M)``.

        Returns the compute spent: examples processed for simulated learners, parameter updates
        times examples for neural ones.
        """
        ...

    def attempt(self, items: Items) -> np.ndarray:
        """Every member's answers to ``items`` (shape ``(M,)`` shared, or ``(P, M)``): ``(P, M)`` ints."""
        ...

    def assess(self, items: Items) -> Profile:
        """Per-skill and per-level accuracy of every member on held-out ``items``."""
        ...
