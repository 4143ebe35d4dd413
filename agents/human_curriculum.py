"""The human curriculum: teach as school does, stage by stage, all subjects of a stage interleaved
(Instruction Tuning with Human Curriculum, Lee, Cho & Yoo, NAACL Findings 2024)."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_int, check_real
from teachgym.task import TaskDescription


@register(
    "human-curriculum",
    kinds=("allocation",),
    needs=("level_profile",),
    paper="Instruction Tuning with Human Curriculum (Lee, Cho & Yoo, NAACL Findings 2024)",
    summary="levels in school order, every skill of the current level interleaved; next level on "
    "mastery or an equal share of the budget",
)
class HumanCurriculumTeacher(BaseTeacher):
    """The domain's school order: difficulty levels are the educational stages, easiest first, and
    a stage teaches all its skills at once, interleaved, rather than one subject after another (the
    paper's finding: interleaving subjects within a stage beats blocking them, and a stage-ordered
    curriculum beats random order).

    Each step spreads its examples evenly over the cells ``(skill, level)`` of the current level
    whose validation accuracy is still below ``threshold``, in the skill order the domain gives,
    skipping a skill whose prerequisites (where the task shows the graph) are not yet mastered at
    this level; if none is open, all unmastered cells of the level. The next level begins when every
    skill of the current one is mastered, or after ``max_steps_per_level`` steps (0: an equal share of
    the episode, ``ceil(num_steps / L)``). After the last level, every unmastered cell of every level
    (review), or every cell once all are mastered.

    Args:
        threshold: float in [0, 1], validation accuracy of a cell that counts as mastered (default
            0.9, as the other mastery teachers here).
        max_steps_per_level: int >= 0, step cap per level; 0 = an equal share of the episode.
    """

    def __init__(
        self, task: TaskDescription, *, threshold: float = 0.9, max_steps_per_level: int = 0
    ) -> None:
        super().__init__(task)
        owner = "teacher 'human-curriculum'"
        self.threshold = check_real(owner, "threshold", threshold, 0.0, 1.0)
        cap = check_int(owner, "max_steps_per_level", max_steps_per_level, 0)
        self.cap = cap or max(1, math.ceil(task.num_steps / task.num_levels))
        index = {name: k for k, name in enumerate(task.skill_names)}
        self.prerequisites = [
            [index[p] for p in task.prerequisites.get(name, ()) if p in index] for name in task.skill_names
        ]

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.level = 0
        self.steps_on_level = 0

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        accuracy = np.asarray(obs["level_profile"], dtype=np.float64)  # (K, L)
        num_levels = accuracy.shape[1]
        mastered = accuracy >= self.threshold
        while self.level < num_levels and (mastered[:, self.level].all() or self.steps_on_level >= self.cap):
            self.level += 1
            self.steps_on_level = 0
        weights = np.zeros(accuracy.shape, np.float32)
        if self.level < num_levels:
            open_skills = [
                k
                for k in range(accuracy.shape[0])
                if not mastered[k, self.level] and all(mastered[p, self.level] for p in self.prerequisites[k])
            ]
            weights[open_skills or np.flatnonzero(~mastered[:, self.level]), self.level] = 1.0
            self.steps_on_level += 1
        else:
            weights[~mastered] = 1.0
        return weights if weights.any() else np.ones(accuracy.shape, np.float32)
