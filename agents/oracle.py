"""The oracle: a privileged, greedy lookahead teacher, the upper reference of the score."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_int
from teachgym.envs.rehearsal import mix_shares
from teachgym.errors import UnsupportedError
from teachgym.task import PrivilegedView, TaskDescription


@register(
    "oracle",
    kinds=("allocation", "choice"),
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

    On the families with a ``Discrete`` choice (Tutor: one exercise per step; Curriculum: the
    sub-task of a whole step) it gives the cell (skill, level) whose ``examples_per_step`` items
    most raise the expected mean accuracy one step ahead, by the same lookahead with all of the
    step's items in that cell; ``num_chunks`` plays no part there. It refuses a Curriculum task that
    replays earlier sub-tasks (``replay_fraction > 0``), whose step it does not model.

    On the Rehearsal family the search is over the action's weights and each candidate is valued
    as the env would play it: turned into the step's examples by the env's own mix (the current
    task's floor included, :func:`~teachgym.envs.rehearsal.mix_shares`) and scored on the tasks
    that have arrived; the observation's ``current`` tells which that is.

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
        if task.settings.get("replay_fraction", 0.0) > 0.0:
            raise UnsupportedError(
                "teacher 'oracle' does not model replay; it needs replay_fraction=0, "
                f"not {task.settings['replay_fraction']}"
            )
        self.student = student
        self.difficulty = view["domain"].mean_difficulty()
        self.examples_per_step = task.examples_per_step
        # The Rehearsal mix: the current task's floor, a public setting of the family.
        self.current_fraction = task.settings.get("current_fraction")

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray | np.int64:
        if isinstance(self.action_space, spaces.Discrete):
            return self.best_exercise()
        num_skills, num_levels = self.difficulty.shape
        # Rehearsal: only the arrived tasks count, and the env mixes the weights with its floor.
        current = int(np.argmax(obs["current"])) if self.current_fraction is not None else num_skills - 1
        weights = np.zeros((1, num_skills, num_levels))
        cells = np.eye(num_skills * num_levels).reshape(-1, num_skills, num_levels)
        cells = cells[: (current + 1) * num_levels]  # tasks yet to arrive get nothing
        for _ in range(self.num_chunks):
            trial = weights + cells  # (cells, K, L): one candidate per row
            counts = self.examples_of(trial, current)
            # A one-member student broadcasts its lookahead over the candidate plans.
            theta = self.student.lookahead(counts, self.difficulty)
            accuracy = self.student.expected_accuracy(self.difficulty, theta)[:, : current + 1]
            weights = weights + cells[int(np.argmax(accuracy.mean(axis=(1, 2))))]
        return (weights[0] / weights[0].sum()).astype(np.float32)

    def examples_of(self, weights: np.ndarray, current: int) -> np.ndarray:
        """The examples per cell ``(N, K, L)`` that candidate plans ``weights`` (chunks per cell)
        give: the chunks placed so far, or in Rehearsal the whole step as the env mixes it."""
        if self.current_fraction is None:
            return weights * (self.examples_per_step / self.num_chunks)
        return mix_shares(weights, current, self.current_fraction) * self.examples_per_step

    def best_exercise(self) -> np.int64:
        """Tutor and Curriculum: the cell (``skill * L + level``) whose ``examples_per_step`` items
        most raise the expected mean accuracy one step ahead."""
        num_skills, num_levels = self.difficulty.shape
        cells = np.eye(num_skills * num_levels).reshape(-1, num_skills, num_levels)
        candidates = cells * self.examples_per_step
        theta = self.student.lookahead(candidates, self.difficulty)
        value = self.student.expected_accuracy(self.difficulty, theta).mean(axis=(1, 2))
        return np.int64(np.argmax(value))
