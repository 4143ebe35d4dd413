"""STAT-Sel's skill-targeted teacher: data in proportion to the missing-skill profile."""

from __future__ import annotations

from typing import Any

import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_real
from teachgym.task import TaskDescription


@register(
    "weakest-skill",
    kinds=("allocation",),
    needs=("profile",),
    paper="STAT: Skill-Targeted Adaptive Training (2025), STAT-Sel",
    summary="examples per skill in proportion to its missing-skill share, 1 - validation accuracy",
)
class WeakestSkillTeacher(BaseTeacher):
    """STAT-Sel: reweight training data towards the skills the student misses.

    STAT builds a Missing-Skill-Profile from the student's failures on validation items (how often
    each skill was missing) and reweights the training data towards it. With one skill per item,
    the share of failures on skill ``k`` is proportional to ``1 - accuracy_k``; this teacher allocates
    ``(1 - accuracy_k) ** sharpness`` of the step's examples to skill ``k``, spread evenly over its
    levels (STAT has no difficulty levels). When every skill is mastered it allocates uniformly.

    Args:
        sharpness: exponent on the missing share (1 = STAT's proportional reweighting).
    """

    def __init__(self, task: TaskDescription, *, sharpness: float = 1.0) -> None:
        self.sharpness = check_real(
            "teacher 'weakest-skill'", "sharpness", sharpness, 0.0, 100.0, low_open=True
        )

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        missing = np.clip(1.0 - obs["profile"].astype(np.float64), 0.0, 1.0) ** self.sharpness
        if missing.sum() <= 0:
            missing = np.ones_like(missing)
        weights = np.repeat((missing / missing.max())[:, None], self.action_space.shape[1], axis=1)
        return weights.astype(np.float32)
