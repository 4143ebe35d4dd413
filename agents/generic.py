"""Generic allocation teachers: random, uniform and round-robin (the usual baselines)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register

ALLOCATION_FAMILIES = ("SkillList",)


@register(
    "random",
    families=ALLOCATION_FAMILIES,
    paper="baseline (DataEnvGym, Khan et al. 2024; TSCL, Matiisen et al. 2017)",
    summary="a fresh Dirichlet(1) allocation over (skill, level) cells every step",
)
class RandomTeacher(BaseTeacher):
    """Allocates each step's examples by a draw from a flat Dirichlet over all cells."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        shape = self.action_space.shape
        return self.rng.dirichlet(np.ones(int(np.prod(shape)))).reshape(shape).astype(np.float32)


@register(
    "uniform",
    families=ALLOCATION_FAMILIES,
    paper="baseline (DataEnvGym, Khan et al. 2024)",
    summary="the same number of examples for every (skill, level) cell",
)
class UniformTeacher(BaseTeacher):
    """Spreads every step's examples evenly over all cells."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        return np.ones(self.action_space.shape, np.float32)


@register(
    "round-robin",
    families=ALLOCATION_FAMILIES,
    paper="baseline (sequential curriculum; TSCL, Matiisen et al. 2017)",
    summary="all of a step's examples on one skill, cycling through skills in order",
)
class RoundRobinTeacher(BaseTeacher):
    """Puts each step's examples on one skill (spread over its levels), cycling through skills."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        pass

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.turn = 0

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        weights = np.zeros(self.action_space.shape, np.float32)
        weights[self.turn % weights.shape[0]] = 1.0
        self.turn += 1
        return weights
