"""The registry of teachers by name, on the Teacher protocol of :mod:`teachgym.teacher` (re-exported
here, as every teacher module imports it from this one).

A teacher is any object with ``act(obs, info) -> action``; ``reset`` and ``observe`` are optional
(see :func:`~teachgym.teacher.as_teacher`). Registered teachers are built by name with
:func:`make`, which refuses a teacher on a task whose action kind it does not handle or whose
observation lacks a key it needs.

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

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from teachgym.agents import plugins
from teachgym.agents.writer import AllocationWriter
from teachgym.errors import ConfigError, UnknownNameError, UnsupportedError
from teachgym.registry_utils import call_checked, lookup
from teachgym.task import ACTION_KINDS, PrivilegedView, TaskDescription
from teachgym.teacher import (  # noqa: F401  (the protocol, re-exported for teachers)
    BaseTeacher,
    FunctionTeacher,
    Observation,
    Teacher,
    as_teacher,
    teacher_rng,
)
from teachgym.vector import EpisodeView


@dataclass(frozen=True)
class TeacherSpec:
    """A registered teacher.

    Attributes:
        name: registry name, e.g. ``"weakest-skill"``.
        factory: builds the teacher from a task's description: ``factory(task, **knobs)``, or
            ``factory(task, view=view, **knobs)`` when it declares ``privileged`` state.
        kinds: the action kinds it acts in (:data:`teachgym.task.ACTION_KINDS`). An ``allocation``
            teacher also writes ``text``, through :class:`~teachgym.agents.writer.AllocationWriter`.
        paper: the source it follows.
        summary: one line on what it does.
        reference: True for upper references (``oracle``), never ranked as entries.
        privileged: the hidden state it reads (keys of ``TeachingEnv.privileged()``, e.g.
            ``("student", "domain")``); empty for every teacher that sees only what a real one does.
        needs: observation keys it reads beyond what its kind implies (e.g. ``("prerequisites",)``);
            it acts only on tasks whose observation has them all.
        trained_on: the families a trained policy (``sb3:DIR``) was trained on, or the union over a
            name's registrations; empty for one registration, whose families follow from ``kinds``
            and ``needs``.
    """

    name: str
    factory: Callable[..., Teacher]
    kinds: tuple[str, ...]
    paper: str
    summary: str
    reference: bool = False
    privileged: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    trained_on: tuple[str, ...] = ()

    def acts_on(self, action_kind: str, observation_keys: Iterable[str], writes_data: bool) -> bool:
        """Whether it acts on a task of ``action_kind`` whose observation has ``observation_keys``
        (``writes_data``: the task lends an example writer, so allocations can become text)."""
        if not set(self.needs) <= set(observation_keys):
            return False
        if action_kind in self.kinds:
            return True
        # Through the allocation writer; not for privileged references, whose hidden state (a
        # simulated student's) a text task's student does not have.
        return action_kind == "text" and writes_data and "allocation" in self.kinds and not self.privileged

    def handles(self, task: TaskDescription) -> bool:
        """Whether it acts on ``task`` (its action kind, observation keys and example writer)."""
        keys = getattr(task.observation_space, "spaces", {})
        return self.acts_on(task.action_kind, keys, task.example_writer is not None)

    @property
    def families(self) -> tuple[str, ...]:
        """The registered families it acts on, read from the families' declared action kind and
        observation keys (no family is named at registration)."""
        if self.trained_on:
            return self.trained_on
        return tuple(
            family
            for family, env_class in family_classes().items()
            if self.acts_on(
                env_class.action_kind, env_class.observation_keys(), env_class.teacher_writes_data
            )
        )


@functools.cache
def family_classes() -> dict[str, Any]:
    """Family name -> its env class, in :data:`teachgym.envs.FAMILIES` order (imported on first use)."""
    from teachgym.envs import FAMILIES, family_class

    return {family: family_class(family) for family in FAMILIES}


#: Name -> its registrations. One name may carry one strategy adapted to several action kinds (e.g.
#: ``random`` allocates, chooses, or intervenes at the budget), each with its own class, as long as
#: no two registrations of the name share a kind.
_REGISTRY: dict[str, list[TeacherSpec]] = {}


def register(
    name: str,
    *,
    kinds: tuple[str, ...],
    paper: str,
    summary: str,
    needs: tuple[str, ...] = (),
    reference: bool = False,
    privileged: tuple[str, ...] = (),
) -> Callable[[Any], Any]:
    """Class decorator: register a teacher class under ``name`` for the action ``kinds`` it handles
    and the observation keys it ``needs``. No family is named: a new family of a known kind gets
    every teacher whose needs its observation meets.

    The class is built as ``cls(task, **knobs)`` from a :class:`~teachgym.task.TaskDescription`;
    a reference teacher that reads hidden state names it in ``privileged`` and is built as
    ``cls(task, view=view, **knobs)`` with a :class:`~teachgym.task.PrivilegedView` of exactly those
    fields. The signature is checked here, so a teacher that asks for anything else (an ``env``) is
    refused at import.
    """
    kinds, needs, privileged = tuple(kinds), tuple(needs), tuple(privileged)
    unknown = [kind for kind in kinds if kind not in ACTION_KINDS]
    if not kinds or unknown:
        raise ConfigError(f"teacher {name!r} kinds={kinds} is invalid; expected some of {ACTION_KINDS}")
    if privileged and not reference:
        raise ConfigError(
            f"teacher {name!r} declares privileged={privileged} but reference=False; a teacher that "
            "reads hidden state must be registered with reference=True (it is never ranked)"
        )

    def wrap(cls: Any) -> Any:
        taken = {kind for existing in _REGISTRY.get(name, []) for kind in existing.kinds}
        if taken & set(kinds):
            shared = sorted(taken & set(kinds))
            raise ConfigError(f"teacher {name!r} is already registered for kinds {shared}")
        _check_factory(name, cls, privileged)
        _REGISTRY.setdefault(name, []).append(
            TeacherSpec(name, cls, kinds, paper, summary, reference, privileged, needs)
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


def _is_env(source: Any) -> bool:
    """Whether ``source`` is an env, or one env of a batched vector env (its view: ``vec.envs[i]``,
    which describes itself and gives privileged views as a single env does)."""
    return isinstance(source, gym.Env | EpisodeView)


def _task_of(source: TaskDescription | gym.Env[Any, Any]) -> TaskDescription:
    if isinstance(source, TaskDescription):
        return source
    if _is_env(source):
        return describe(source)  # type: ignore[arg-type]
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
    """Every registered teacher that acts on ``source``'s task and builds for it, sorted."""
    task = _task_of(source)
    # Privileged references need the env for their view; with a description alone they do not build.
    return [n for n in names() if supports(n, task) and builds(n, source)]


def names(*, installed: bool = False) -> list[str]:
    """Names of every registered teacher, sorted; with ``installed``, also the teachers that installed
    packages declare (:data:`~teachgym.agents.plugins.ENTRY_POINT_GROUP`), which ``--agents all``
    leaves out so that a suite's teachers do not depend on what else is installed."""
    extra = [n for n in plugins.installed() if n not in _REGISTRY] if installed else []
    return sorted([*_REGISTRY, *extra])


def source_hash(name: str) -> str | None:
    """What names the code of teacher ``name`` beyond teachgym's revision: the SHA-256 of a plug-in's
    source file (a ``file.py:Class`` or ``module:Class`` spec, or an installed teacher); None for
    teachgym's own teachers and ``sb3:DIR``."""
    target = _plugin_target(name)
    return None if target is None else plugins.source_hash(plugins.load_class(target))


def _plugin_target(name: str) -> str | None:
    """The ``file.py:Class`` or ``module:Class`` behind ``name``, or None for a registered name."""
    if plugins.is_spec(name):
        return name
    if isinstance(name, str) and name not in _REGISTRY:
        return plugins.installed().get(name)
    return None


def _plugin_registrations(name: str, target: str) -> list[TeacherSpec]:
    """The registrations of the plug-in class ``target`` under ``name``: its own, if it registered
    itself on import, else one from what it declares (:func:`~teachgym.agents.plugins.declared`)."""
    cls = plugins.load_class(target)
    own = [dataclasses.replace(r, name=name) for rs in _REGISTRY.values() for r in rs if r.factory is cls]
    return own or [TeacherSpec(name, plugins.factory(cls), **plugins.declared(cls, name))]


def spec(name: str, family: str | None = None) -> TeacherSpec:
    """The registration of teacher ``name`` for ``family``; without a family, one view of all its
    registrations (every kind, each distinct source and summary). ``"sb3:DIR"``: the trained
    teacher in ``DIR`` (a ConfigError if ``DIR`` holds none)."""
    if _is_sb3(name):
        trained = _sb3_spec(name)
        if family is not None and family not in trained.families:
            raise UnsupportedError(
                f"teacher {name!r} supports families {list(trained.families)}, not {family!r}"
            )
        return trained
    registrations = _registrations(name)
    if family is not None:
        kind = family_classes()[family].action_kind if family in family_classes() else None
        for registration in sorted(registrations, key=lambda r: kind not in r.kinds):
            if family in registration.families:
                return registration
        families = [f for r in registrations for f in r.families]
        raise UnsupportedError(f"teacher {name!r} supports families {families}, not {family!r}")
    if len(registrations) == 1:
        return registrations[0]
    return TeacherSpec(
        name,
        registrations[0].factory,
        tuple(kind for r in registrations for kind in r.kinds),
        "; ".join(dict.fromkeys(r.paper for r in registrations)),
        "; ".join(dict.fromkeys(r.summary for r in registrations)),
        any(r.reference for r in registrations),
        tuple(dict.fromkeys(field for r in registrations for field in r.privileged)),
        trained_on=tuple(dict.fromkeys(f for r in registrations for f in r.families)),
    )


def _registrations(name: str) -> list[TeacherSpec]:
    target = _plugin_target(name)
    if target is not None:
        return _plugin_registrations(name, target)
    try:
        registrations: list[TeacherSpec] = lookup(_REGISTRY, name, "teacher")
    except UnknownNameError as error:
        raise UnknownNameError(
            f"{error}, or 'sb3:DIR' for a teacher trained by 'teachgym train', or 'path/to/file.py:Class' "
            "or 'package.module:Class' for your own"
        ) from None
    return registrations


def _registration_for(name: str, task: TaskDescription) -> TeacherSpec:
    """The registration of ``name`` that acts on ``task`` (UnsupportedError if none does)."""
    if _is_sb3(name):
        return spec(name, task.family)
    registrations = _registrations(name)
    # A registration of the task's own kind first: a native text teacher over the allocation writer.
    ranked = sorted(registrations, key=lambda r: task.action_kind not in r.kinds)
    for registration in ranked:
        if registration.handles(task):
            return registration
    kinds = [kind for r in registrations for kind in r.kinds]
    needs = sorted({need for r in registrations for need in r.needs})
    raise UnsupportedError(
        f"teacher {name!r} acts on kinds {kinds} with observation keys {needs}; the {task.family} "
        f"task's action is {task.action_kind!r} and its observation has "
        f"{sorted(getattr(task.observation_space, 'spaces', {}))}"
    )


def supports(name: str, source: TaskDescription | gym.Env[Any, Any]) -> bool:
    """Whether teacher ``name`` acts on the task of ``source`` (a task description or an env): its
    action kind and observation keys (``"sb3:DIR"``: whether it has the env id and family it was
    trained on)."""
    task = _task_of(source)
    if _is_sb3(name):
        teachers = _sb3_module().trained_teachers(name[len(SB3_PREFIX) :])
        return bool(task.env_id in teachers and task.family == teachers[task.env_id]["family"])
    return any(registration.handles(task) for registration in _registrations(name))


def make(name: str, source: TaskDescription | gym.Env[Any, Any], **options: Any) -> Teacher:
    """Build teacher ``name`` with its keyword ``options`` (the knobs its docstring lists) from
    ``source``: a :class:`~teachgym.task.TaskDescription`, or an env, which is described
    (``env.unwrapped.describe()``) and, for a privileged reference teacher, asked for a view of
    exactly the hidden state it declares. The teacher never receives the env.

    Raises:
        UnsupportedError: a task the teacher does not act on (another action kind, or an observation
            without the keys it needs), or a privileged teacher given a description alone (it needs
            the env for its view).
        ConfigError: options it does not take, or a ``source`` that is neither.
    """
    task = _task_of(source)
    teacher_spec = _registration_for(name, task)
    handed = [key for key, value in options.items() if isinstance(value, gym.Env)]
    if handed:
        raise ConfigError(f"teacher {name!r} options {handed} are envs; a teacher never receives the env")
    fixed: dict[str, Any] = {"task": task}
    if teacher_spec.privileged:
        if not _is_env(source):
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
    if task.action_kind not in teacher_spec.kinds:  # an allocation teacher on a text task
        return AllocationWriter(teacher, task)
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
    families = tuple(dict.fromkeys(str(m["family"]) for m in teachers.values()))
    classes = family_classes()
    return TeacherSpec(
        name,
        functools.partial(sb3.load_teacher, directory),
        tuple(dict.fromkeys(classes[f].action_kind for f in families if f in classes)),
        f"stable-baselines3 {algos} (Raffin et al. 2021), trained by 'teachgym train'",
        f"{algos} policy trained on {trained}",
        trained_on=families,
    )
