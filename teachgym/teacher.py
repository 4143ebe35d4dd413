"""The Teacher protocol: what the env loop and the runner need of a teaching policy.

A teacher is any object with ``act(obs, info) -> action``; ``reset`` and ``observe`` are optional
(:func:`as_teacher` adapts such objects, SB3-style models and plain functions). Core code
(:mod:`teachgym.rollout`, the vector env, training) depends only on this module; the teachers
themselves and their registry live in ``teachgym.agents``, which builds on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from teachgym.errors import ConfigError

Observation = dict[str, np.ndarray]


@runtime_checkable
class Teacher(Protocol):
    """A teaching policy: acts on observations of a teaching env."""

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        """Start a new episode; draw any randomness only from ``seed``."""
        ...

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        """The action for the current observation."""
        ...

    def observe(
        self,
        obs: Observation,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> None:
        """See the outcome of the last action (learning teachers update here)."""
        ...


def teacher_rng(seed: int) -> np.random.Generator:
    """A teacher's generator for ``seed``: a stream independent of the env's ``np_random`` for the
    same seed (Gymnasium seeds that one with ``SeedSequence(seed)`` itself)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x7EAC,)))


class BaseTeacher:
    """Convenience base: stores the task, the spaces and a seeded generator; ``observe`` does nothing.

    A subclass need only define ``act``: it is built as ``cls(task)`` by name (``teachgym.agents.make``,
    ``--agent path/to/file.py:Class``) and as ``cls()`` by hand; ``self.task`` is the task's read-only
    :class:`~teachgym.task.TaskDescription`, or None when built by hand.
    """

    def __init__(self, task: Any = None) -> None:
        self.task = task

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.rng = teacher_rng(seed)

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        raise NotImplementedError

    def observe(
        self,
        obs: Observation,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> None:
        return None


class FunctionTeacher(BaseTeacher):
    """Adapts ``fn(obs, info) -> action`` to a Teacher."""

    def __init__(self, fn: Callable[[Observation, dict[str, Any]], Any]) -> None:
        self.fn = fn

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        return self.fn(obs, info)


class _ActOnlyTeacher(FunctionTeacher):
    """An object with ``act`` but without ``reset``/``observe``: those are passed on if present."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy.act)
        self.policy = policy

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        if hasattr(self.policy, "reset"):
            self.policy.reset(observation_space, action_space, seed=seed)

    def observe(
        self, obs: Observation, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> None:
        if hasattr(self.policy, "observe"):
            self.policy.observe(obs, reward, terminated, truncated, info)


def as_teacher(policy: Any) -> Teacher:
    """A :class:`Teacher` from any object with ``act(obs, info)`` (``reset``/``observe`` optional),
    an SB3-style model with ``predict(obs, deterministic=True)``, or a plain function of ``obs``."""
    if isinstance(policy, Teacher):
        return policy
    if hasattr(policy, "act"):
        return _ActOnlyTeacher(policy)
    if hasattr(policy, "predict"):
        return FunctionTeacher(lambda obs, info: policy.predict(obs, deterministic=True)[0])
    if callable(policy):
        return FunctionTeacher(lambda obs, info: policy(obs))
    raise ConfigError(
        f"cannot use {policy!r} as a teacher: expected an object with act(obs, info), an SB3-style "
        "model with predict(), or a function of obs"
    )
