"""Fixed curricula over sub-tasks ordered from easiest (index 0) to hardest: easy-to-hard,
hard-to-easy, and Cyclical Curriculum Learning (Kesgin & Amasyali 2022)."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.agents.tscl import CURRICULUM_KINDS, CURRICULUM_NEEDS, num_choices, profile_of
from teachgym.config import check_choice, check_int, check_real, require
from teachgym.task import TaskDescription

THENS: tuple[str, ...] = ("uniform", "stay")


class SequentialTeacher(BaseTeacher):
    """Teach sub-tasks one at a time in a fixed order, advancing on mastery or a step cap.

    The current sub-task is trained until its validation score reaches ``threshold`` or it has been
    trained ``max_steps_per_task`` steps, whichever comes first; then the next sub-task of the order
    becomes current (a sub-task whose score already passes the threshold when its turn comes is skipped
    at once). After the last sub-task of the order, ``then="uniform"`` draws a sub-task uniformly from
    all of them each step (the curriculum's final stage is the full task distribution) and
    ``then="stay"`` keeps training the last one.

    ``max_steps_per_task=0`` means an equal share of the episode: ``ceil(num_steps / K)`` steps, where
    the episode's length ``num_steps`` is read off the ``budget`` observation (fraction left) after the
    first step; without a ``budget`` key there is no cap.

    Subclasses set the order with :meth:`order`.
    """

    name = "sequential"

    def __init__(
        self, task: TaskDescription, *, threshold: float, max_steps_per_task: int, then: str
    ) -> None:
        self.owner = f"teacher {self.name!r}"
        self.num_tasks = num_choices(task, self.owner)
        self.threshold = check_real(self.owner, "threshold", threshold, 0.0, 1.0)
        self.max_steps_per_task = check_int(self.owner, "max_steps_per_task", max_steps_per_task, 0)
        self.then = check_choice(self.owner, "then", then, THENS)

    def order(self, num_tasks: int) -> list[int]:
        """Sub-task indices in teaching order."""
        raise NotImplementedError

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.num_tasks = int(getattr(action_space, "n", self.num_tasks))
        self.start = int(getattr(action_space, "start", 0))
        self.sequence = self.order(self.num_tasks)
        self.position = 0
        self.steps_on_current = 0
        self.steps_done = 0

    def cap(self, obs: Observation) -> int | None:
        """The step cap per sub-task, or None for none (yet)."""
        if self.max_steps_per_task > 0:
            return self.max_steps_per_task
        if "budget" not in obs or self.steps_done == 0:
            return None
        spent = 1.0 - float(np.asarray(obs["budget"]).reshape(-1)[0])
        if spent <= 0:
            return None
        num_steps = round(self.steps_done / spent)
        return max(1, math.ceil(num_steps / self.num_tasks))

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        scores = profile_of(obs)
        cap = self.cap(obs)
        while self.position < len(self.sequence):
            current = self.sequence[self.position]
            capped = cap is not None and self.steps_on_current >= cap
            if scores[current] < self.threshold and not capped:
                break
            self.position += 1
            self.steps_on_current = 0
        if self.position < len(self.sequence):
            task = self.sequence[self.position]
        elif self.then == "stay":
            task = self.sequence[-1]
        else:
            task = int(self.rng.integers(self.num_tasks))
        self.steps_on_current += 1
        self.steps_done += 1
        return np.int64(self.start + task)


@register(
    "easy-to-hard",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="fixed curriculum (Bengio et al. 2009; TSCL's manual curricula, Matiisen et al. 2017)",
    summary="sub-task 0 until mastered (or a step cap), then 1, ...; afterwards uniform review",
)
class EasyToHardTeacher(SequentialTeacher):
    """Sub-tasks in index order, easiest first, each until mastered or capped (see
    :class:`SequentialTeacher`).

    Args:
        threshold: float in [0, 1], validation score that counts as mastered (default 0.9).
        max_steps_per_task: int >= 0, step cap per sub-task; 0 = an equal share of the episode
            (default 0).
        then: ``"uniform"`` (default) or ``"stay"``, what follows the last sub-task.
    """

    name = "easy-to-hard"

    def __init__(
        self,
        task: TaskDescription,
        *,
        threshold: float = 0.9,
        max_steps_per_task: int = 0,
        then: str = "uniform",
    ) -> None:
        super().__init__(task, threshold=threshold, max_steps_per_task=max_steps_per_task, then=then)

    def order(self, num_tasks: int) -> list[int]:
        return list(range(num_tasks))


@register(
    "hard-to-easy",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="anti-curriculum (reverse order of easy-to-hard; Kesgin & Amasyali 2022 compare it)",
    summary="the hardest sub-task first until mastered (or a step cap), then the next easier one, ...",
)
class HardToEasyTeacher(SequentialTeacher):
    """Sub-tasks in reverse index order, hardest first, each until mastered or capped (see
    :class:`SequentialTeacher`).

    Args:
        threshold: float in [0, 1], validation score that counts as mastered (default 0.9).
        max_steps_per_task: int >= 0, step cap per sub-task; 0 = an equal share of the episode
            (default 0).
        then: ``"uniform"`` (default) or ``"stay"``, what follows the last (easiest) sub-task.
    """

    name = "hard-to-easy"

    def __init__(
        self,
        task: TaskDescription,
        *,
        threshold: float = 0.9,
        max_steps_per_task: int = 0,
        then: str = "uniform",
    ) -> None:
        super().__init__(task, threshold=threshold, max_steps_per_task=max_steps_per_task, then=then)

    def order(self, num_tasks: int) -> list[int]:
        return list(range(num_tasks - 1, -1, -1))


def cyclical_shares(start_share: float, multiplier: float, end_share: float) -> list[float]:
    """One period of Cyclical Curriculum Learning's data-size schedule.

    From ``start_share`` the share is divided by ``multiplier`` each epoch up to ``end_share``, then
    multiplied by it each epoch back down to ``start_share``, and again (Kesgin & Amasyali's
    ``get_cycle_sizes``). E.g. 0.25, 0.5 and 1.0 give the period ``[0.25, 0.5, 1.0, 0.5]``.
    """
    shares = [start_share]
    while True:
        share = shares[-1]
        rising = share == start_share or (len(shares) > 1 and shares[-2] < share and share != end_share)
        share = min(share / multiplier, end_share) if rising else max(share * multiplier, start_share)
        if share == start_share or len(shares) > 10_000:
            return shares
        shares.append(share)


@register(
    "cyclical",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="Cyclical Curriculum Learning (Kesgin & Amasyali 2022, arXiv 2202.05531)",
    summary="the range of sub-tasks in use cycles between the easiest few and all; uniform within it",
)
class CyclicalTeacher(BaseTeacher):
    """Cyclical Curriculum Learning: the share of the data in use cycles between easy-only and all.

    CCL trains epoch ``e`` on a share ``s_e`` of the training set, drawn towards the easy examples;
    ``s_e`` starts at ``start_share``, is divided by ``multiplier`` every epoch up to ``end_share``, then
    multiplied by it every epoch back down to ``start_share``, and so on (the authors' defaults 0.25,
    0.5, 1.0 give 0.25, 0.5, 1, 0.5, 0.25, ...). Here the data are sub-tasks ordered easiest first: in
    epoch ``e`` each step trains a sub-task drawn uniformly from the easiest ``ceil(s_e * K)``. An epoch
    at share ``s`` lasts ``max(1, round(s * epoch_steps))`` steps (a full-data epoch lasts
    ``epoch_steps``), so an epoch's length follows its data size as in CCL; with the defaults one
    period is 5 + 10 + 20 + 10 = 45 steps. CCL draws each epoch's examples with probability
    proportional to easiness scores; over whole sub-tasks we take the easiest share, uniformly.

    Args:
        start_share: float in (0, 1], the smallest share of sub-tasks in use (default 0.25).
        multiplier: float in (0, 1), the factor between consecutive epochs' shares (default 0.5).
        end_share: float in [start_share, 1], the largest share (default 1.0).
        epoch_steps: int >= 1, steps of an epoch at share 1 (default 20).
    """

    name = "cyclical"

    def __init__(
        self,
        task: TaskDescription,
        *,
        start_share: float = 0.25,
        multiplier: float = 0.5,
        end_share: float = 1.0,
        epoch_steps: int = 20,
    ) -> None:
        owner = f"teacher {self.name!r}"
        self.num_tasks = num_choices(task, owner)
        self.start_share = check_real(owner, "start_share", start_share, 0.0, 1.0, low_open=True)
        self.multiplier = check_real(owner, "multiplier", multiplier, 0.0, 1.0, low_open=True, high_open=True)
        self.end_share = check_real(owner, "end_share", end_share, 0.0, 1.0, low_open=True)
        require(
            self.end_share >= self.start_share, owner, "end_share", end_share, f">= start_share {start_share}"
        )
        self.epoch_steps = check_int(owner, "epoch_steps", epoch_steps, 1, 10**6)
        self.shares = cyclical_shares(self.start_share, self.multiplier, self.end_share)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.num_tasks = int(getattr(action_space, "n", self.num_tasks))
        self.start = int(getattr(action_space, "start", 0))
        # One period as a per-step list of how many of the easiest sub-tasks are in use.
        self.schedule = [
            max(1, math.ceil(share * self.num_tasks - 1e-9))
            for share in self.shares
            for _ in range(max(1, round(share * self.epoch_steps)))
        ]
        self.steps_done = 0

    def in_use(self, step: int) -> int:
        """How many of the easiest sub-tasks are in use at ``step`` (0-based)."""
        return self.schedule[step % len(self.schedule)]

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        task = int(self.rng.integers(self.in_use(self.steps_done)))
        self.steps_done += 1
        return np.int64(self.start + task)
