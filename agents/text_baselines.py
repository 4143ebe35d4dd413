"""Baselines for the OpenEnded family: write correct problems from the domain's own generator.

They are the text counterparts of the allocation baselines: ``uniform`` writes the same number of
problems for every (skill, level), ``random`` a Dirichlet-drawn mix, ``weakest-skill`` puts them on
the skills the profile shows weakest. Problems come from the task's example writer (the domain's
generator, as an engine would make them: never a held-out problem) with correct answers, so these
teachers measure what choosing *which* problems to write is worth, against LLM teachers that also
write *how*.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.engines import Plan, allocate
from teachgym.errors import UnsupportedError
from teachgym.task import TaskDescription

TEXT_FAMILIES = ("OpenEnded",)


class _DomainWriter(BaseTeacher):
    """Writes ``examples_per_step`` correct problems per step spread over (skill, level) cells by
    :meth:`weights`."""

    def __init__(self, task: TaskDescription) -> None:
        if task.example_writer is None:
            raise UnsupportedError(
                f"{type(self).__name__} writes problems with the task's example writer; {task.env_id} "
                "lends none (example_writer is None)"
            )
        self.writer = task.example_writer
        self.examples_per_step = task.examples_per_step
        self.shape = (task.num_skills, task.num_levels)

    def weights(self, obs: Observation) -> np.ndarray:
        raise NotImplementedError

    def act(self, obs: Observation, info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        counts = allocate(self.weights(obs)[None], self.examples_per_step)
        skill, level = Plan(counts).cells()
        problems = self.writer.generate(skill.ravel(), level.ravel(), self.rng)
        return tuple(problems.pairs())


@register(
    "uniform",
    families=TEXT_FAMILIES,
    paper="baseline (DataEnvGym, Khan et al. 2024)",
    summary="writes equally many correct problems for every (skill, level) from the domain's generator",
)
class UniformWriter(_DomainWriter):
    """Equal numbers of correct problems for every (skill, level) cell, every step."""

    def weights(self, obs: Observation) -> np.ndarray:
        return np.ones(self.shape)


@register(
    "random",
    families=TEXT_FAMILIES,
    paper="baseline (DataEnvGym, Khan et al. 2024)",
    summary="writes correct problems in a fresh Dirichlet(1) mix of (skill, level) cells every step",
)
class RandomWriter(_DomainWriter):
    """Correct problems in a mix of cells drawn from a flat Dirichlet every step."""

    def weights(self, obs: Observation) -> np.ndarray:
        return self.rng.dirichlet(np.ones(int(np.prod(self.shape)))).reshape(self.shape)


@register(
    "weakest-skill",
    families=TEXT_FAMILIES,
    paper="STAT-Sel (skill-targeted selection, 2025) with the domain's generator as the data source",
    summary="writes correct problems on each skill in proportion to 1 - its validation accuracy",
)
class WeakestSkillWriter(_DomainWriter):
    """STAT's missing-skill profile ``1 - accuracy`` per skill, as ``weakest-skill`` on the allocation
    families (the levels of a skill share its examples equally); all skills alike when none is
    missing."""

    def weights(self, obs: Observation) -> np.ndarray:
        missing = np.clip(1.0 - np.asarray(obs["profile"], np.float64), 0.0, 1.0)
        if missing.sum() <= 0:
            missing = np.ones_like(missing)
        return np.repeat(missing[:, None], self.shape[1], axis=1)
