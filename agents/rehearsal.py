"""Rehearsal teachers: what to replay while new tasks arrive (no replay, uniform, recency, power law,
Leitner boxes).

Every teacher here reads only the observation (``arrived``, ``current``, ``profile``) and its own
memory, and returns per-task weights for the Rehearsal action (``(K, L)``, spread evenly over a
task's levels). The env gives the current task at least ``current_fraction`` of each step whatever
the weights, so "zero weight on the current task" means "replay exactly the rest".
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_int, check_real
from teachgym.task import TaskDescription

#: Rehearsal teachers read which tasks have arrived and which is current.
REHEARSAL_NEEDS = ("arrived", "current", "profile")


def task_state(obs: Observation) -> tuple[int, int]:
    """``(number of arrived tasks, current task)`` from an observation."""
    return int(np.count_nonzero(obs["arrived"] > 0.5)), int(np.argmax(obs["current"]))


def task_weights(per_task: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Per-task weights ``(K,)`` as an action of ``shape`` ``(K, L)``: each task's weight on every one
    of its levels, scaled so that the largest is 1."""
    per_task = np.asarray(per_task, dtype=np.float64)
    weights = np.repeat((per_task / per_task.max())[:, None], shape[1], axis=1)
    return weights.astype(np.float32)


def only_current(shape: tuple[int, ...], current: int) -> np.ndarray:
    """All of the step on the current task (no replay)."""
    per_task = np.zeros(shape[0])
    per_task[current] = 1.0
    return task_weights(per_task, shape)


def phases_since_current(num_arrived: int, current: int) -> np.ndarray:
    """For every arrived task, the phases (task arrivals) since it was last the current task:
    0 for the current task, 1 for the one before it, ... (``current - k``: tasks arrive in order
    and each is current until the next arrives)."""
    return current - np.arange(num_arrived)


@register(
    "no-replay",
    kinds=("allocation",),
    needs=REHEARSAL_NEEDS,
    paper="sequential fine-tuning, the lower baseline of continual learning (McCloskey & Cohen 1989; "
    "Gandhi et al. 2024)",
    summary="every example on the current task; earlier tasks are never rehearsed",
)
class NoReplayTeacher(BaseTeacher):
    """Puts all of every step on the current task (a one-hot action): the student sees each task
    only while it is current, the setting in which catastrophic interference was found (McCloskey &
    Cohen 1989) and the lower baseline of the power-law rehearsal paper. No knobs."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        return only_current(self.action_space.shape, task_state(obs)[1])


@register(
    "uniform-replay",
    kinds=("allocation",),
    needs=REHEARSAL_NEEDS,
    paper="experience replay over a uniform choice of past tasks (Robins 1995; Chaudhry et al. 2019; "
    "the uniform environment of Gandhi et al. 2024)",
    summary="the replay share split equally over all earlier tasks",
)
class UniformReplayTeacher(BaseTeacher):
    """Weight 1 on every earlier arrived task and 0 on the current one, so the current task gets
    exactly ``current_fraction`` of a step and the rest is split equally over the earlier tasks
    (random rehearsal, Robins 1995; experience replay with a uniformly sampled memory, Chaudhry et
    al. 2019). Before a second task arrives everything goes to the current task. No knobs."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        num_arrived, current = task_state(obs)
        if num_arrived <= 1:
            return only_current(self.action_space.shape, current)
        per_task = np.zeros(self.action_space.shape[0])
        per_task[:num_arrived] = 1.0
        per_task[current] = 0.0
        return task_weights(per_task, self.action_space.shape)


@register(
    "recency",
    kinds=("allocation",),
    needs=REHEARSAL_NEEDS,
    paper="recency rehearsal (Ratcliff 1990; Robins 1995) with the exponential decay of Gandhi et al. "
    "2024's exponential environment",
    summary="replay weight decays exponentially with a task's age: exp(-(age - 1) / tau)",
)
class RecencyTeacher(BaseTeacher):
    """Favours the most recently learned earlier tasks: an earlier task of *age* ``a`` (phases since
    it was the current task: 1 for the task just before the current one, 2 for the one before
    that, ...) gets replay weight ``exp(-(a - 1) / tau)``; the current task gets weight 0, so it
    receives exactly ``current_fraction`` and the rest goes to replay. This is the recency
    rehearsal of Ratcliff (1990) and Robins (1995) made graded, with the exponential decay that
    Gandhi et al. (2024) contrast with power-law recurrence. ``tau -> 0`` replays only the previous
    task; ``tau -> inf`` is ``uniform-replay``. Before a second task arrives everything goes to the
    current task.

    Knobs:
        tau: decay length of the replay weight, in phases (tasks), a number in (0, 1000] (default 1).
    """

    def __init__(self, task: TaskDescription, *, tau: float = 1.0) -> None:
        self.tau = check_real("teacher 'recency'", "tau", tau, 0.0, 1000.0, low_open=True)

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        num_arrived, current = task_state(obs)
        if num_arrived <= 1:
            return only_current(self.action_space.shape, current)
        age = phases_since_current(num_arrived, current)
        per_task = np.zeros(self.action_space.shape[0])
        earlier = np.arange(num_arrived) != current  # the current task (age 0) gets no replay weight
        per_task[:num_arrived][earlier] = np.exp(-(age[earlier] - 1.0) / self.tau)
        return task_weights(per_task, self.action_space.shape)


@register(
    "power-law",
    kinds=("allocation",),
    needs=REHEARSAL_NEEDS,
    paper="Gandhi et al. 2024, Catastrophic Interference is Mitigated in Naturalistic Power-Law "
    "Learning Environments (after Anderson & Schooler 1991)",
    summary="tasks recur in proportion to (phases since last current + 1) ** -alpha, current included",
)
class PowerLawTeacher(BaseTeacher):
    """A naturalistic power-law environment (Gandhi et al. 2024): the chance that a task recurs
    falls as a power of the time since it was last performed (Anderson & Schooler 1991's
    environmental statistics of memory). As in the paper's environments, where each phase trains
    the new task together with every earlier task in an amount that decays as a power of the phases
    since that task was learned, the weights cover every arrived task, the current one included::

        w_k = (s_k + 1) ** -alpha,   s_k = phases since task k was last current (0 for the current)

    The env adds its ``current_fraction`` floor for the current task and shares the rest of the
    step in proportion to ``w``. ``alpha = 0`` weighs every arrived task equally; a large ``alpha``
    approaches ``no-replay``.

    Knobs:
        alpha: power-law exponent, a number in [0, 20] (default 1).
    """

    def __init__(self, task: TaskDescription, *, alpha: float = 1.0) -> None:
        self.alpha = check_real("teacher 'power-law'", "alpha", alpha, 0.0, 20.0)

    def weights(self, num_arrived: int, current: int) -> np.ndarray:
        """Per-task weights ``(K,)``: the formula above on arrived tasks, 0 on the others."""
        per_task = np.zeros(self.action_space.shape[0])
        per_task[:num_arrived] = (phases_since_current(num_arrived, current) + 1.0) ** -self.alpha
        return per_task

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        return task_weights(self.weights(*task_state(obs)), self.action_space.shape)


@register(
    "leitner",
    kinds=("allocation",),
    needs=REHEARSAL_NEEDS,
    paper="Leitner boxes (Leitner 1972, So lernt man lernen; spaced repetition, Reddy et al. 2016)",
    summary="earlier tasks in boxes reviewed every 2**box steps; a pass promotes, a failure demotes to 0",
)
class LeitnerTeacher(BaseTeacher):
    """Spaced repetition with Leitner boxes. When a task stops being current it enters box 0 and is
    due at once. A task in box ``b`` is reviewed every ``2 ** b`` steps. A review reads the task's
    validation accuracy in the observation: at or above ``threshold`` promotes it to box
    ``min(b + 1, num_boxes - 1)``, below demotes it to box 0; either way its next review is
    ``2 ** (new box)`` steps later. Every task due this step is rehearsed: weight 1 on each, 0 on
    the current task (which gets exactly ``current_fraction``). When no task is due the whole step
    goes to the current task. Steps are counted by the teacher (one per ``act``).

    Knobs:
        threshold: validation accuracy at which a review passes, in (0, 1] (default 0.7).
        num_boxes: boxes 0 .. num_boxes - 1, so the longest interval is ``2 ** (num_boxes - 1)``
            steps; an int in [1, 16] (default 5).
    """

    def __init__(self, task: TaskDescription, *, threshold: float = 0.7, num_boxes: int = 5) -> None:
        owner = "teacher 'leitner'"
        self.threshold = check_real(owner, "threshold", threshold, 0.0, 1.0, low_open=True)
        self.num_boxes = check_int(owner, "num_boxes", num_boxes, 1, 16)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        num_tasks = action_space.shape[0]  # type: ignore[index]
        self.step = 0
        self.box = np.full(num_tasks, -1)  # -1: not in the review system yet (not an earlier task)
        self.due = np.zeros(num_tasks, dtype=np.int64)
        #: (step, task, passed, new box) of every review, for inspection and tests.
        self.reviews: list[tuple[int, int, bool, int]] = []

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        num_arrived, current = task_state(obs)
        for task in range(num_arrived):
            if task != current and self.box[task] < 0:  # it just stopped being current
                self.box[task], self.due[task] = 0, self.step
        due = [
            k for k in range(num_arrived) if k != current and self.box[k] >= 0 and self.due[k] <= self.step
        ]
        for task in due:
            passed = bool(obs["profile"][task] >= self.threshold)
            self.box[task] = min(self.box[task] + 1, self.num_boxes - 1) if passed else 0
            self.due[task] = self.step + 2 ** int(self.box[task])
            self.reviews.append((self.step, task, passed, int(self.box[task])))
        self.step += 1
        if not due:
            return only_current(self.action_space.shape, current)
        per_task = np.zeros(self.action_space.shape[0])
        per_task[due] = 1.0
        return task_weights(per_task, self.action_space.shape)
