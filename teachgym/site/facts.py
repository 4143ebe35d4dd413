"""What the site says about each registered id and each family, read from the registries and from the
env objects themselves (never written by hand): the Gymnasium registry for the ids and their keyword
arguments, ``teachgym.envs`` for the families and their versions, the built env for its spaces,
student, domain and engine, ``teachgym.bench.suites`` for the suites, and ``teachgym.agents`` for the
teachers that fit."""

from __future__ import annotations

import functools
import importlib
import warnings
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from gymnasium import spaces

import teachgym.envs as envs
from teachgym.bench.suites import SUITES
from teachgym.cli_tables import agents_module, budget_text
from teachgym.site.docstrings import summary


@dataclass(frozen=True)
class Part:
    """A named part of an env (its student, domain or engine): the registry name, the class that
    implements it, and the first paragraph of that class's docstring."""

    name: str
    cls: str
    summary: str


@dataclass(frozen=True)
class IdFacts:
    """One registered id, as the env built from it shows itself.

    Attributes:
        env_id: e.g. ``"teachgym/SkillList-Sim-v1"``.
        family, variant, version: where it comes from (``VARIANTS`` of the family's module).
        kwargs: the keyword arguments it is registered with.
        action_space, observation_space: ``repr`` of the built env's spaces; the observation's as
            key -> ``repr`` for a ``Dict`` space (``{"": repr}`` for any other space).
        student, domain, engine: the parts the env was built with.
        skills: the skill (sub-task, class or task) names the student is taught; ``num_levels``
            difficulty levels of each.
        budget: the episode's budget, e.g. ``"5 steps x 240 examples"``.
        suites: the benchmark tasks built on this id, as ``(suite, task name)``.
        references: the family's reference teachers for this variant, in order of preference.
        reference: the one that scores 1 on this id: the first of ``references`` that builds on its
            env (as the benchmark picks it), or None if none does.
        baseline: the family's naive baseline for this variant.
        latest: whether this is the newest version of its variant.
    """

    env_id: str
    family: str
    variant: str
    version: int
    kwargs: dict[str, Any]
    action_space: str
    observation_space: dict[str, str]
    student: Part
    domain: Part
    engine: Part
    skills: tuple[str, ...]
    num_levels: int
    budget: str
    suites: tuple[tuple[str, str], ...]
    references: tuple[str, ...]
    reference: str | None
    baseline: str
    latest: bool


@dataclass(frozen=True)
class TeacherFacts:
    """A registered teacher as it acts on one family (its registration for the family's kind)."""

    name: str
    paper: str
    summary: str
    reference: bool
    privileged: tuple[str, ...]


def family_module(family: str) -> Any:
    """The module of ``family`` under ``teachgym.envs`` (e.g. ``teachgym.envs.skill_list``)."""
    return importlib.import_module(f"teachgym.envs.{envs.FAMILIES[family]}")


def _origins() -> dict[str, tuple[str, str, int, dict[str, Any]]]:
    """Env id -> (family, variant, version, kwargs), over every version the families declare."""
    return {
        envs.env_id(family, variant, version): (family, variant, version, kwargs)
        for family, variants in envs.ALL_VERSIONS.items()
        for variant, pairs in variants.items()
        for version, kwargs in pairs
    }


def family_ids(family: str) -> list[str]:
    """The registered ids of ``family``, in registration order (the Gymnasium registry's list)."""
    origins = _origins()
    return [name for name in envs.ids() if origins[name][0] == family]


def _per_variant(module: Any, attribute: str, variant: str, default: Any) -> Any:
    """A family module's ``REFERENCES`` or ``BASELINE``: one value, or a dict variant -> value (as
    :mod:`teachgym.bench.suites` reads them)."""
    value = getattr(module, attribute, default)
    return value.get(variant, default) if isinstance(value, dict) else value


def _part(name: str, obj: Any) -> Part:
    return Part(name, type(obj).__name__, summary(type(obj)))


def _space_reprs(space: spaces.Space[Any]) -> dict[str, str]:
    if isinstance(space, spaces.Dict):
        return {key: repr(sub) for key, sub in space.spaces.items()}
    return {"": repr(space)}


@functools.cache
def id_facts(env_id: str) -> IdFacts:
    """The facts of the registered id ``env_id``, from the env built by ``gymnasium.make(env_id)``.

    Kept for the process (an id's registration does not change once made): building every env takes
    seconds, the language-model ones most, and a second build of the site need not repeat it."""
    family, variant, version, _ = _origins()[env_id]
    with warnings.catch_warnings():  # an older version's deprecation notice is the page's news
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    try:
        unwrapped: Any = env.unwrapped
        config = unwrapped.config
        references = tuple(_per_variant(family_module(family), "REFERENCES", variant, ()))
        agents = agents_module()
        facts = IdFacts(
            env_id=env_id,
            family=family,
            variant=variant,
            version=version,
            kwargs=dict(gym.spec(env_id).kwargs),
            action_space=repr(env.action_space),
            observation_space=_space_reprs(env.observation_space),
            student=_part(config.student, unwrapped.student),
            domain=_part(config.domain, unwrapped.domain),
            engine=_part(config.engine, unwrapped.engine),
            skills=tuple(unwrapped.skills.names),
            num_levels=int(unwrapped.skills.num_levels),
            budget=budget_text(unwrapped.num_steps, unwrapped.examples_per_step),
            suites=tuple(
                (suite, task.name)
                for suite, tasks in SUITES.items()
                for task in tasks
                if task.env_id == env_id
            ),
            references=references,
            reference=next((name for name in references if agents.builds(name, env)), None),
            baseline=str(_per_variant(family_module(family), "BASELINE", variant, "uniform")),
            latest=version == envs.VARIANTS[family][variant][0],
        )
    finally:
        env.close()
    return facts


def teachers_of(family: str) -> list[TeacherFacts]:
    """Every registered teacher that acts on ``family`` (by its action kind and observation keys, as
    ``teachgym.agents`` decides), sorted by name, with its registration for that family."""
    agents = agents_module()
    found = []
    for name in agents.names():
        if family not in agents.spec(name).families:
            continue
        registration = agents.spec(name, family)
        found.append(
            TeacherFacts(
                name,
                registration.paper,
                registration.summary,
                registration.reference,
                registration.privileged,
            )
        )
    return found


def version_changes(family: str) -> dict[str, list[tuple[int, dict[str, tuple[Any, Any]]]]]:
    """Variant -> its versions, oldest first, each with the keyword arguments that changed from the
    version before (name -> (before, after); ``None`` where the argument was not given)."""
    changes: dict[str, list[tuple[int, dict[str, tuple[Any, Any]]]]] = {}
    for variant, pairs in envs.ALL_VERSIONS[family].items():
        previous: dict[str, Any] | None = None
        for version, kwargs in pairs:
            changed = {}
            if previous is not None:
                for key in dict.fromkeys([*previous, *kwargs]):
                    if previous.get(key) != kwargs.get(key):
                        changed[key] = (previous.get(key), kwargs.get(key))
            changes.setdefault(variant, []).append((version, changed))
            previous = kwargs
    return changes
