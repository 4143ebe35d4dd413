"""The Teacher protocol and the registry of teachers by name.

A teacher is any object with ``act(obs, info) -> action``; ``reset`` and ``observe`` are optional
(see :func:`as_teacher`). Registered teachers are built by name with :func:`make`, which refuses a
teacher on a family it does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from teachgym.errors import UnsupportedError
from teachgym.registry_utils import lookup

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


class BaseTeacher:
    """Convenience base: stores the spaces and a seeded generator; ``observe`` does nothing."""

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

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
    """Adapts ``fn(obs) -> action`` (a plain function, or an SB3 model's ``predict``) to a Teacher."""

    def __init__(self, fn: Callable[[Observation], Any]) -> None:
        self.fn = fn

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        return self.fn(obs)


def as_teacher(policy: Any) -> Teacher:
    """A :class:`Teacher` from a teacher, an SB3-style model (``predict``) or a function of ``obs``."""
    if isinstance(policy, Teacher):
        return policy
    if hasattr(policy, "predict"):
        return FunctionTeacher(lambda obs: policy.predict(obs, deterministic=True)[0])
    if callable(policy):
        return FunctionTeacher(policy)
    raise TypeError(f"cannot use {policy!r} as a teacher: expected act(), predict() or a callable")


@dataclass(frozen=True)
class TeacherSpec:
    """A registered teacher.

    Attributes:
        name: registry name, e.g. ``"weakest-skill"``.
        factory: builds the teacher for an env (``factory(env) -> Teacher``).
        families: families it supports (``TeachingEnv.family`` names).
        paper: the source it follows.
        summary: one line on what it does.
        reference: True for privileged upper references (``oracle``), never ranked as entries.
    """

    name: str
    factory: Callable[[gym.Env[Any, Any]], Teacher]
    families: tuple[str, ...]
    paper: str
    summary: str
    reference: bool = False


_REGISTRY: dict[str, TeacherSpec] = {}


def register(
    name: str, *, families: tuple[str, ...], paper: str, summary: str, reference: bool = False
) -> Callable[[Any], Any]:
    """Class decorator: register a teacher class (built as ``cls(env)``) under ``name``."""

    def wrap(cls: Any) -> Any:
        if name in _REGISTRY:
            raise ValueError(f"teacher {name!r} is already registered")
        _REGISTRY[name] = TeacherSpec(name, cls, families, paper, summary, reference)
        return cls

    return wrap


def names() -> list[str]:
    """Names of every registered teacher, sorted."""
    return sorted(_REGISTRY)


def spec(name: str) -> TeacherSpec:
    """The registration of teacher ``name``."""
    result: TeacherSpec = lookup(_REGISTRY, name, "teacher")
    return result


def supports(name: str, env: gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` declares the family of ``env``."""
    return getattr(env.unwrapped, "family", None) in spec(name).families


def make(name: str, env: gym.Env[Any, Any]) -> Teacher:
    """Build teacher ``name`` for ``env``; refuses a family the teacher does not declare."""
    teacher_spec = spec(name)
    family = getattr(env.unwrapped, "family", None)
    if family not in teacher_spec.families:
        raise UnsupportedError(
            f"teacher {name!r} supports families {list(teacher_spec.families)}, not {family!r}"
        )
    return teacher_spec.factory(env)
