"""Benchmark suites, gathered from the family modules (bsuite-style: no central hand-edited list).

A family module declares ``SUITES``: suite name -> ``[(task, variant, keyword overrides)]`` and
``REFERENCES``: the teachers whose mean test accuracy scores 1 on its tasks (the first that builds
on a task's env), as a tuple or as a dict variant -> tuple. A *task* is a registered id with
keyword overrides, named e.g. ``"SkillList-Sim-v0"`` or ``"SkillList-Sim-v0[forgetting]"``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from teachgym.envs import FAMILIES, env_id
from teachgym.errors import UnknownNameError


@dataclass(frozen=True)
class Task:
    """One entry of a suite: an env id built with keyword overrides.

    Attributes:
        name: unique within a suite, e.g. ``"SkillList-Sim-v0[forgetting]"``.
        env_id: the registered id, e.g. ``"teachgym/SkillList-Sim-v0"``.
        family: the env's family.
        kwargs: keyword overrides passed to ``gym.make``.
        references: teachers that score 1, in order of preference.
    """

    name: str
    env_id: str
    family: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()

    def make(self) -> gym.Env[Any, Any]:
        """A fresh env of this task."""
        return gym.make(self.env_id, **self.kwargs)


def _family_tasks() -> dict[str, list[Task]]:
    suites: dict[str, list[Task]] = {}
    for family, module_name in FAMILIES.items():
        module = importlib.import_module(f"teachgym.envs.{module_name}")
        versions = module.VARIANTS
        for suite, entries in getattr(module, "SUITES", {}).items():
            for name, variant, kwargs in entries:
                task_id = env_id(family, variant, versions[variant][0])
                references = getattr(module, "REFERENCES", ())
                if isinstance(references, dict):
                    references = references[variant]
                suites.setdefault(suite, []).append(
                    Task(name, task_id, family, dict(kwargs), tuple(references))
                )
    return suites


#: Suite name -> its tasks, in family registration order.
SUITES: dict[str, list[Task]] = _family_tasks()


def suite(name: str) -> list[Task]:
    """The tasks of suite ``name``, or an UnknownNameError listing the suites."""
    if name not in SUITES:
        raise UnknownNameError(f"unknown suite {name!r}; expected one of {sorted(SUITES)}")
    return list(SUITES[name])
