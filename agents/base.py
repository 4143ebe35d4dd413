"""The Teacher protocol and the registry of teachers by name.

A teacher is any object with ``act(obs, info) -> action``; ``reset`` and ``observe`` are optional
(see :func:`as_teacher`). Registered teachers are built by name with :func:`make`, which refuses a
teacher on a family it does not declare.

A name ``"sb3:DIR"`` is a teacher trained by ``teachgym train ... --out DIR`` (stable-baselines3, extra
``teachgym[rl]``; :func:`teachgym.agents.sb3.load_teacher`): :func:`spec`, :func:`supports`,
:func:`builds` and :func:`make` take it like a registered name (its family and env id are read from
``DIR/teacher.json``), but :func:`names` does not list it. Loading ``DIR/best_model.zip`` executes code
stored in it (SB3 uses cloudpickle): use only folders you trust.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from teachgym.errors import ConfigError, UnknownNameError, UnsupportedError
from teachgym.registry_utils import call_checked, lookup

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
    """Convenience base: stores the spaces and a seeded generator; ``observe`` does nothing."""

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


#: Name -> its registrations. One name may carry one strategy adapted to several families (e.g.
#: ``random`` allocates, chooses a sub-task, or intervenes at the budget), each with its own class, as
#: long as no two registrations of the name share a family.
_REGISTRY: dict[str, list[TeacherSpec]] = {}


def register(
    name: str, *, families: tuple[str, ...], paper: str, summary: str, reference: bool = False
) -> Callable[[Any], Any]:
    """Class decorator: register a teacher class (built as ``cls(env, **knobs)``) under ``name`` for
    ``families``."""

    def wrap(cls: Any) -> Any:
        taken = {family for existing in _REGISTRY.get(name, []) for family in existing.families}
        if taken & set(families):
            raise ConfigError(f"teacher {name!r} is already registered for {sorted(taken & set(families))}")
        _REGISTRY.setdefault(name, []).append(TeacherSpec(name, cls, families, paper, summary, reference))
        return cls

    return wrap


def builds(name: str, env: gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` builds on ``env`` with its default knobs (False when it refuses the
    env with a ValueError, e.g. ``oracle`` on a neural student, or a missing language model)."""
    try:
        make(name, env)
    except ValueError:
        return False
    return True


def runnable(env: gym.Env[Any, Any]) -> list[str]:
    """Every registered teacher that supports ``env``'s family and builds on it, sorted."""
    return [n for n in names() if supports(n, env) and builds(n, env)]


def names() -> list[str]:
    """Names of every registered teacher, sorted."""
    return sorted(_REGISTRY)


def spec(name: str, family: str | None = None) -> TeacherSpec:
    """The registration of teacher ``name`` for ``family``; without a family, one view of all its
    registrations (every family, each distinct source and summary). ``"sb3:DIR"``: the trained
    teacher in ``DIR`` (a ConfigError if ``DIR`` holds none)."""
    if _is_sb3(name):
        trained = _sb3_spec(name)
        if family is not None and family not in trained.families:
            raise UnsupportedError(
                f"teacher {name!r} supports families {list(trained.families)}, not {family!r}"
            )
        return trained
    try:
        registrations: list[TeacherSpec] = lookup(_REGISTRY, name, "teacher")
    except UnknownNameError as error:
        raise UnknownNameError(f"{error}, or 'sb3:DIR' for a teacher trained by 'teachgym train'") from None
    if family is not None:
        for registration in registrations:
            if family in registration.families:
                return registration
        families = [f for r in registrations for f in r.families]
        raise UnsupportedError(f"teacher {name!r} supports families {families}, not {family!r}")
    if len(registrations) == 1:
        return registrations[0]
    return TeacherSpec(
        name,
        registrations[0].factory,
        tuple(f for r in registrations for f in r.families),
        "; ".join(dict.fromkeys(r.paper for r in registrations)),
        "; ".join(dict.fromkeys(r.summary for r in registrations)),
        any(r.reference for r in registrations),
    )


def supports(name: str, env: gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` declares the family of ``env`` (``"sb3:DIR"``: whether ``env`` has the
    env id and family it was trained on)."""
    family = getattr(env.unwrapped, "family", None)
    if _is_sb3(name):
        teachers = _sb3_module().trained_teachers(name[len(SB3_PREFIX) :])
        env_id = env.spec.id if env.spec is not None else None
        return bool(env_id in teachers and family == teachers[env_id]["family"])
    return family in spec(name).families


def make(name: str, env: gym.Env[Any, Any], **options: Any) -> Teacher:
    """Build teacher ``name`` for ``env`` with its keyword ``options`` (the knobs its docstring
    lists); refuses a family the teacher does not declare and options it does not take."""
    teacher_spec = spec(name, getattr(env.unwrapped, "family", None) or "")
    teacher: Teacher = call_checked(teacher_spec.factory, options, f"teacher {name!r}", env=env)
    return teacher


#: The prefix of a trained teacher's name: ``"sb3:DIR"`` is the teacher ``teachgym train`` wrote to DIR.
SB3_PREFIX = "sb3:"


def _is_sb3(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(SB3_PREFIX)


def _sb3_module() -> Any:
    """``teachgym.agents.sb3``, imported on first use (stable-baselines3 is an optional extra)."""
    try:
        from teachgym.agents import sb3
    except ImportError as error:
        raise ConfigError(
            f"'sb3:DIR' teachers need stable-baselines3 ({error}); install it with pip install 'teachgym[rl]'"
        ) from None
    return sb3


def _sb3_spec(name: str) -> TeacherSpec:
    """The spec of ``"sb3:DIR"``, from ``DIR/teacher.json`` (ConfigError if it is missing or malformed)."""
    directory = name[len(SB3_PREFIX) :]
    if not directory:
        raise ConfigError(
            f"teacher {name!r} names no folder; expected 'sb3:DIR' with DIR from 'teachgym train'"
        )
    sb3 = _sb3_module()
    teachers = sb3.trained_teachers(directory)
    algos = "/".join(sorted({str(m["algo"]).upper() for m in teachers.values()}))
    trained = "; ".join(
        f"{env_id} ({m.get('steps', '?')} steps, seed {m.get('seed', '?')})" for env_id, m in teachers.items()
    )
    return TeacherSpec(
        name,
        functools.partial(sb3.load_teacher, directory),
        tuple(dict.fromkeys(str(m["family"]) for m in teachers.values())),
        f"stable-baselines3 {algos} (Raffin et al. 2021), trained by 'teachgym train'",
        f"{algos} policy trained on {trained}",
    )
