"""The Teacher protocol and the registry of teachers by name.

A teacher is any object with ``act(obs, info) -> action``; ``reset`` and ``observe`` are optional
(see :func:`as_teacher`). Registered teachers are built by name with :func:`make`, which refuses a
teacher on a family it does not declare.

**What a teacher may read.** A registered teacher class is built as ``cls(task, **knobs)`` from the
task's read-only :class:`~teachgym.task.TaskDescription` (spaces, skill names and levels, budget,
the family's public settings, training data where the family lends it), never from the env: it
cannot reach the student, the domain or a held-out item. A privileged *reference* teacher declares
the hidden state it reads (``register(..., reference=True, privileged=("student", "domain"))``) and
is built as ``cls(task, view=view, **knobs)``, where ``view`` (a
:class:`~teachgym.task.PrivilegedView` made by ``env.unwrapped.privileged_view(fields)``) holds
exactly the declared fields. :func:`register` checks these signatures.

A name ``"sb3:DIR"`` is a teacher trained by ``teachgym train ... --out DIR`` (stable-baselines3, extra
``teachgym[rl]``; :func:`teachgym.agents.sb3.load_teacher`): :func:`spec`, :func:`supports`,
:func:`builds` and :func:`make` take it like a registered name (its family and env id are read from
``DIR/teacher.json``), but :func:`names` does not list it. Loading ``DIR/best_model.zip`` executes code
stored in it (SB3 uses cloudpickle): use only folders you trust.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from teachgym.errors import ConfigError, UnknownNameError, UnsupportedError
from teachgym.registry_utils import call_checked, lookup
from teachgym.task import PrivilegedView, TaskDescription

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
        factory: builds the teacher from a task's description: ``factory(task, **knobs)``, or
            ``factory(task, view=view, **knobs)`` when it declares ``privileged`` state.
        families: families it supports (``TeachingEnv.family`` names).
        paper: the source it follows.
        summary: one line on what it does.
        reference: True for upper references (``oracle``), never ranked as entries.
        privileged: the hidden state it reads (keys of ``TeachingEnv.privileged()``, e.g.
            ``("student", "domain")``); empty for every teacher that sees only what a real one does.
    """

    name: str
    factory: Callable[..., Teacher]
    families: tuple[str, ...]
    paper: str
    summary: str
    reference: bool = False
    privileged: tuple[str, ...] = ()


#: Name -> its registrations. One name may carry one strategy adapted to several families (e.g.
#: ``random`` allocates, chooses a sub-task, or intervenes at the budget), each with its own class, as
#: long as no two registrations of the name share a family.
_REGISTRY: dict[str, list[TeacherSpec]] = {}


def register(
    name: str,
    *,
    families: tuple[str, ...],
    paper: str,
    summary: str,
    reference: bool = False,
    privileged: tuple[str, ...] = (),
) -> Callable[[Any], Any]:
    """Class decorator: register a teacher class under ``name`` for ``families``.

    The class is built as ``cls(task, **knobs)`` from a :class:`~teachgym.task.TaskDescription`;
    a reference teacher that reads hidden state names it in ``privileged`` and is built as
    ``cls(task, view=view, **knobs)`` with a :class:`~teachgym.task.PrivilegedView` of exactly those
    fields. The signature is checked here, so a teacher that asks for anything else (an ``env``) is
    refused at import.
    """
    privileged = tuple(privileged)
    if privileged and not reference:
        raise ConfigError(
            f"teacher {name!r} declares privileged={privileged} but reference=False; a teacher that "
            "reads hidden state must be registered with reference=True (it is never ranked)"
        )

    def wrap(cls: Any) -> Any:
        taken = {family for existing in _REGISTRY.get(name, []) for family in existing.families}
        if taken & set(families):
            raise ConfigError(f"teacher {name!r} is already registered for {sorted(taken & set(families))}")
        _check_factory(name, cls, privileged)
        _REGISTRY.setdefault(name, []).append(
            TeacherSpec(name, cls, families, paper, summary, reference, privileged)
        )
        return cls

    return wrap


def _check_factory(name: str, factory: Any, privileged: tuple[str, ...]) -> None:
    """Refuse a factory whose signature is not ``(task, *, [view,] knobs...)``."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return  # no signature to read (a builtin); make() still passes only task and view
    expected = "(task, *, view, knobs...)" if privileged else "(task, *, knobs...): never the env"
    first = parameters[0].name if parameters else None
    given = {p.name for p in parameters}
    if first != "task" or ("view" in given) != bool(privileged) or "env" in given:
        raise ConfigError(
            f"teacher {name!r} factory {getattr(factory, '__name__', factory)!r} has signature "
            f"{inspect.signature(factory)}; expected {expected} (privileged={privileged})"
        )


def describe(env: gym.Env[Any, Any]) -> TaskDescription:
    """The read-only description of ``env``'s task (``env.unwrapped.describe()``)."""
    describe_task = getattr(env.unwrapped, "describe", None)
    task = describe_task() if callable(describe_task) else None
    if not isinstance(task, TaskDescription):
        raise ConfigError(
            f"env {type(env.unwrapped).__name__} gives no TaskDescription (describe() returned "
            f"{type(task).__name__}); expected a teachgym TeachingEnv"
        )
    return task


def _task_of(source: TaskDescription | gym.Env[Any, Any]) -> TaskDescription:
    if isinstance(source, TaskDescription):
        return source
    if isinstance(source, gym.Env):
        return describe(source)
    raise ConfigError(
        f"a teacher is built from a TaskDescription (or a teachgym env, which describes itself), not "
        f"{type(source).__name__} {source!r}"
    )


def builds(name: str, source: TaskDescription | gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` builds for ``source`` (a task description, or an env) with its
    default knobs (False when it refuses with a ValueError, e.g. ``oracle`` on a neural student or
    given a description alone, or a missing language model)."""
    try:
        make(name, source)
    except ValueError:
        return False
    return True


def runnable(source: TaskDescription | gym.Env[Any, Any]) -> list[str]:
    """Every registered teacher that supports ``source``'s family and builds for it, sorted."""
    task = _task_of(source)
    # Privileged references need the env for their view; with a description alone they do not build.
    return [n for n in names() if supports(n, task) and builds(n, source)]


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
        tuple(dict.fromkeys(field for r in registrations for field in r.privileged)),
    )


def supports(name: str, source: TaskDescription | gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` declares the family of ``source`` (a task description or an env;
    ``"sb3:DIR"``: whether it has the env id and family it was trained on)."""
    task = _task_of(source)
    if _is_sb3(name):
        teachers = _sb3_module().trained_teachers(name[len(SB3_PREFIX) :])
        return bool(task.env_id in teachers and task.family == teachers[task.env_id]["family"])
    return task.family in spec(name).families


def make(name: str, source: TaskDescription | gym.Env[Any, Any], **options: Any) -> Teacher:
    """Build teacher ``name`` with its keyword ``options`` (the knobs its docstring lists) from
    ``source``: a :class:`~teachgym.task.TaskDescription`, or an env, which is described
    (``env.unwrapped.describe()``) and, for a privileged reference teacher, asked for a view of
    exactly the hidden state it declares. The teacher never receives the env.

    Raises:
        UnsupportedError: a family the teacher does not declare, or a privileged teacher given a
            description alone (it needs the env for its view).
        ConfigError: options it does not take, or a ``source`` that is neither.
    """
    task = _task_of(source)
    teacher_spec = spec(name, task.family)
    handed = [key for key, value in options.items() if isinstance(value, gym.Env)]
    if handed:
        raise ConfigError(f"teacher {name!r} options {handed} are envs; a teacher never receives the env")
    fixed: dict[str, Any] = {"task": task}
    if teacher_spec.privileged:
        if not isinstance(source, gym.Env):
            raise UnsupportedError(
                f"teacher {name!r} reads the hidden state {list(teacher_spec.privileged)} of the env; "
                f"build it from the env (make({name!r}, env)), not from its description alone"
            )
        view = source.unwrapped.privileged_view(teacher_spec.privileged)  # type: ignore[attr-defined]
        if not isinstance(view, PrivilegedView):
            raise ConfigError(
                f"env {type(source.unwrapped).__name__}.privileged_view returned {type(view).__name__}; "
                "expected a PrivilegedView"
            )
        fixed["view"] = view
    teacher: Teacher = call_checked(teacher_spec.factory, options, f"teacher {name!r}", **fixed)
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
