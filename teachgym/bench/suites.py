"""Benchmark suites, gathered from the family modules (bsuite-style: no central hand-edited list).

A family module declares ``SUITES``: suite name -> ``[(task, variant, keyword overrides)]`` and
``REFERENCES``: the teachers whose mean test accuracy scores 1 on its tasks (the first that builds
on a task's env), as a tuple or as a dict variant -> tuple; and optionally ``BASELINE``, the family's
naive baseline (default ``uniform``), as a name or as a dict variant -> name. A *task* is a registered id with
keyword overrides, named e.g. ``"SkillList-Sim-v0"`` or ``"SkillList-Sim-v0[forgetting]"``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from teachgym.envs import ALL_VERSIONS, FAMILIES, env_id
from teachgym.errors import ConfigError
from teachgym.registry_utils import lookup


@dataclass(frozen=True)
class Task:
    """One entry of a suite: an env id built with keyword overrides.

    Attributes:
        name: unique within a suite, e.g. ``"SkillList-Sim-v0[forgetting]"``.
        env_id: the registered id, e.g. ``"teachgym/SkillList-Sim-v0"``.
        family: the env's family.
        kwargs: keyword overrides passed to ``gym.make``.
        references: teachers that score 1, in order of preference.
        baseline: the family's naive baseline, which must beat ``random`` for the task to earn its
            place (``uniform`` unless the family module declares ``BASELINE``).
    """

    name: str
    env_id: str
    family: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    baseline: str = "uniform"

    def make(self) -> gym.Env[Any, Any]:
        """A fresh env of this task."""
        return gym.make(self.env_id, **self.kwargs)

    def make_population(self, size: int) -> Any:
        """A fresh batched vector env of ``size`` episodes of this task (a
        :class:`~teachgym.vector.TeachingVectorEnv`)."""
        vector = gym.make_vec(
            self.env_id, num_envs=size, vectorization_mode="vector_entry_point", **self.kwargs
        )
        return vector.unwrapped


def _version_in(name: str, family: str, variant: str) -> int:
    """The version a task name states (``"SkillList-Sim-v1[forgetting]"`` -> 1); it must be registered."""
    match = re.match(rf"{re.escape(family)}-{re.escape(variant)}-v(\d+)(\[|$)", name)
    registered = [version for version, _ in ALL_VERSIONS[family][variant]]
    if match is None or int(match.group(1)) not in registered:
        raise ConfigError(
            f"suite task {name!r} must be named '{family}-{variant}-v<N>[...]' with N in {registered}"
        )
    return int(match.group(1))


def _family_tasks() -> dict[str, list[Task]]:
    suites: dict[str, list[Task]] = {}
    for family, module_name in FAMILIES.items():
        module = importlib.import_module(f"teachgym.envs.{module_name}")
        for suite, entries in getattr(module, "SUITES", {}).items():
            for name, variant, kwargs in entries:
                task_id = env_id(family, variant, _version_in(name, family, variant))
                references = getattr(module, "REFERENCES", ())
                if isinstance(references, dict):
                    references = references[variant]
                baseline = getattr(module, "BASELINE", "uniform")
                if isinstance(baseline, dict):
                    baseline = baseline.get(variant, "uniform")
                suites.setdefault(suite, []).append(
                    Task(name, task_id, family, dict(kwargs), tuple(references), baseline)
                )
    return suites


#: Suite name -> its tasks, in family registration order.
SUITES: dict[str, list[Task]] = _family_tasks()


#: Seeds a suite runs by default: enough that the minimum detectable paired effect on each of its
#: tasks is at most 0.02 test accuracy (calibrated suites), or what the older suites were run with.
DEFAULT_SEEDS: dict[str, int] = {"core-v1": 100, "core-v2": 100, "quick": 10, "profiling-v1": 100}
#: The seed count of a suite that states none.
FALLBACK_SEEDS = 5


def default_seeds(name: str) -> int:
    """Episodes per (task, teacher) that ``teachgym bench NAME`` runs without ``--seeds``."""
    suite(name)  # an UnknownNameError for an unknown suite
    return DEFAULT_SEEDS.get(name, FALLBACK_SEEDS)


def suite(name: str) -> list[Task]:
    """The tasks of suite ``name``, or an UnknownNameError naming the closest suite and listing them."""
    tasks: list[Task] = lookup(SUITES, name, "suite")
    return list(tasks)
