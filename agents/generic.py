"""Generic teachers: random, uniform and round-robin (the usual baselines).

They act on any allocation action space (``Box`` of weights: spread over cells) and on any
``Discrete`` choice of the next sub-task (TSCL's uniform-sampling baseline is ``random`` there; ``uniform``
gives every sub-task equal steps; ``round-robin`` is a fixed cycle).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.task import TaskDescription

#: Every family whose action is a Box of weights over cells or a Discrete choice (and, through the
#: allocation writer, every family that writes text).
GENERIC_KINDS: tuple[str, ...] = ("allocation", "choice")


@register(
    "random",
    kinds=GENERIC_KINDS,
    paper="baseline (DataEnvGym, Khan et al. 2024; TSCL, Matiisen et al. 2017)",
    summary="a fresh Dirichlet(1) allocation over cells, or a uniformly drawn sub-task, every step",
)
class RandomTeacher(BaseTeacher):
    """Allocations: a draw from a flat Dirichlet over all cells. Choices: a uniformly drawn sub-task
    (TSCL's uniform-sampling baseline)."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        if isinstance(self.action_space, spaces.Discrete):
            return np.int64(self.action_space.start + self.rng.integers(self.action_space.n))
        shape = self.action_space.shape
        return self.rng.dirichlet(np.ones(int(np.prod(shape)))).reshape(shape).astype(np.float32)


@register(
    "uniform",
    kinds=GENERIC_KINDS,
    paper="baseline (DataEnvGym, Khan et al. 2024; equal practice per sub-task)",
    summary="equal examples for every cell; or equal steps for every sub-task, in shuffled cycles",
)
class UniformTeacher(BaseTeacher):
    """Allocations: equal weights on every cell. Choices: equal steps for every sub-task, in
    shuffled cycles (each cycle of ``n`` steps visits every sub-task once, in a fresh random order):
    the choice counterpart of an equal allocation. ``random`` draws every step independently, so its
    counts drift apart; TSCL's "uniform sampling" baseline is that independent draw (``random``)."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.cycle: list[int] = []

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        if isinstance(self.action_space, spaces.Discrete):
            if not self.cycle:
                self.cycle = [int(c) for c in self.rng.permutation(int(self.action_space.n))]
            return np.int64(self.action_space.start + self.cycle.pop())
        return np.ones(self.action_space.shape, np.float32)


@register(
    "round-robin",
    kinds=GENERIC_KINDS,
    paper="baseline (sequential curriculum; TSCL, Matiisen et al. 2017)",
    summary="all of a step's examples on one skill or sub-task, cycling through them in order",
)
class RoundRobinTeacher(BaseTeacher):
    """Puts each step's examples on one skill (spread over its levels) or picks one sub-task,
    cycling through them in index order."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.turn = 0

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        turn, self.turn = self.turn, self.turn + 1
        if isinstance(self.action_space, spaces.Discrete):
            return np.int64(self.action_space.start + turn % self.action_space.n)
        weights = np.zeros(self.action_space.shape, np.float32)
        weights[turn % weights.shape[0]] = 1.0
        return weights
