"""The oracle: a privileged, greedy lookahead teacher, the upper reference of the score."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_int
from teachgym.errors import UnsupportedError
from teachgym.task import PrivilegedView, TaskDescription


@register(
    "oracle",
    families=("SkillList", "SkillTree", "Tutor"),
    paper="reference teacher (the 'oracle' of Saha et al. 2023 and of TeachMyAgent's comparisons)",
    summary="reads the simulated student's true state; greedy one-step lookahead (reference only)",
    reference=True,
    privileged=("student", "domain"),
)
class OracleTeacher(BaseTeacher):
    """Greedy lookahead on the true state of a simulated student.

    Privileged: it declares the live student and domain and reads them from its ``view``. For each of
    ``num_chunks`` chunks of the step's examples, the oracle tries every (skill, level) cell with the
    student's own dynamics (``SimulatedStudent.lookahead``) and adds the chunk to the cell that most
    raises the expected mean accuracy on the validation distribution after the step. It is an upper
    reference for scores and is never ranked as an ordinary entry.

    On the Tutor family (a ``Discrete`` choice of one exercise per step) it gives the exercise
    (skill, level) whose single item most raises the expected mean accuracy one step ahead, by the
    same lookahead with a count of one item in that cell; ``num_chunks`` plays no part there.

    Args:
        num_chunks: pieces the step's examples are split into for the greedy search.
    """

    def __init__(self, task: TaskDescription, *, view: PrivilegedView, num_chunks: int = 8) -> None:
        self.num_chunks = check_int("teacher 'oracle'", "num_chunks", num_chunks, 1, 1000)
        student = view["student"]
        if not hasattr(student, "lookahead"):
            raise UnsupportedError(
                f"teacher 'oracle' needs a simulated student with a known model, not {type(student).__name__}"
            )
        self.student = student
        self.difficulty = view["domain"].mean_difficulty()
        self.examples_per_step = task.examples_per_step

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray | np.int64:
        if isinstance(self.action_space, spaces.Discrete):
            return self.best_exercise()
        num_skills, num_levels = self.difficulty.shape
        counts = np.zeros((1, num_skills, num_levels))
        chunk = self.examples_per_step / self.num_chunks
        candidates = np.eye(num_skills * num_levels).reshape(-1, num_skills, num_levels) * chunk
        for _ in range(self.num_chunks):
            trial = counts + candidates  # (cells, K, L): one candidate per row
            # A one-member student broadcasts its lookahead over the candidate plans.
            theta = self.student.lookahead(trial, self.difficulty)
            value = self.student.expected_accuracy(self.difficulty, theta).mean(axis=(1, 2))
            counts = counts + candidates[int(np.argmax(value))]
        return (counts[0] / counts[0].sum()).astype(np.float32)

    def best_exercise(self) -> np.int64:
        """Tutor: the exercise (cell ``skill * L + level``) whose one item most raises the expected
        mean accuracy one step ahead."""
        num_skills, num_levels = self.difficulty.shape
        candidates = np.eye(num_skills * num_levels).reshape(-1, num_skills, num_levels)
        theta = self.student.lookahead(candidates, self.difficulty)
        value = self.student.expected_accuracy(self.difficulty, theta).mean(axis=(1, 2))
        return np.int64(np.argmax(value))
