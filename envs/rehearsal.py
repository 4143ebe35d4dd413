"""Rehearsal: tasks arrive one after another; each step the teacher mixes the current task with replay of
earlier ones (continual learning: power-law rehearsal, spaced repetition)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.actions import as_allocations
from teachgym.bench.effects import Effect
from teachgym.composition import TeachingConfig
from teachgym.config import require
from teachgym.engines import Plan, allocate
from teachgym.env import TeachingEnv
from teachgym.episode import EpisodeState
from teachgym.family import Family, Lesson
from teachgym.skills import Profile, SkillSpace

ENV_CLASS = "RehearsalEnv"

#: Variant name -> (version, keyword arguments). Budgets are steps x examples per step.
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    # 5 permutations x 10 steps of 64 examples: one task alone reaches ~0.9 validation accuracy in its
    # 10 steps, and without replay the next permutations overwrite it (see tests/test_rehearsal.py).
    "PermutedDigits": (
        0,
        {
            "domain": "permuted-digits",
            "student": "mlp",
            "engine": "pool",
            "num_steps": 50,
            "examples_per_step": 64,
            "steps_per_task": 10,
        },
    ),
    "Sim": (
        0,
        {
            "domain": "sim",
            # Five independent tasks (forgetting, not gating, is what this family is about), three levels
            # each as in SkillList-Sim: with one level every item sits near difficulty 0, outside the
            # default student's zone of proximal development, and hard tasks were never learned at all.
            "domain_options": {"skills": "five-tasks"},
            "student": "simulated",
            "num_steps": 30,
            "examples_per_step": 40,
            "steps_per_task": 6,
        },
    ),
}

#: Teachers whose mean test accuracy is a score of 1: the oracle where the student is simulated (its
#: true state is known; it searches the replay mix one step ahead), else power-law rehearsal (the
#: family's paper), as there is no privileged oracle for a neural student.
REFERENCES = ("oracle", "power-law")
#: Benchmark suites: suite -> [(task, variant, keyword overrides)].
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    # Second round (leaderboards/calibration-v2): the registered setting with the oracle as reference,
    # and the scarcest setting of a probe over current_fraction, forgetting, examples per step and
    # steps per task (the largest uniform - random gap, +0.031 on seeds 5000-5099, +0.020 on 6000-6099).
    "candidates-v2": [
        ("Rehearsal-Sim-v0", "Sim", {}),
        (
            "Rehearsal-Sim-v0[scarce]",
            "Sim",
            {
                "current_fraction": 0.25,
                "student_options": {"forgetting_exponent": 0.4},
                "examples_per_step": 160,
                "steps_per_task": 2,
                "num_steps": 10,
            },
        ),
    ],
    "candidates-v1": [
        ("Rehearsal-PermutedDigits-v0", "PermutedDigits", {}),
        ("Rehearsal-Sim-v0", "Sim", {}),
        ("Rehearsal-Sim-v0[strong-forgetting]", "Sim", {"student_options": {"forgetting_exponent": 0.6}}),
    ],
    "core-v0": [("Rehearsal-PermutedDigits-v0", "PermutedDigits", {}), ("Rehearsal-Sim-v0", "Sim", {})],
}
#: Pre-registered effects: each paper's own contrast, declared as data before it is run; computed
#: by ``teachgym effects DIR`` and reported whatever it shows (teachgym.bench.effects).
EFFECTS: tuple[Effect, ...] = (
    Effect(
        name="power-law-beats-no-replay-permuted-digits",
        paper="Catastrophic Interference is Mitigated in Naturalistic Power-Law Learning Environments (2024)",
        task="Rehearsal-PermutedDigits-v0",
        teacher="power-law",
        baseline="no-replay",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(30)),
        note=(
            "The paper's contrast on its own domain (permuted digits, domain-incremental): power-law "
            "rehearsal beats no rehearsal."
        ),
    ),
    Effect(
        name="power-law-forgets-less-than-no-replay-permuted-digits",
        paper="Catastrophic Interference is Mitigated in Naturalistic Power-Law Learning Environments (2024)",
        task="Rehearsal-PermutedDigits-v0",
        teacher="power-law",
        baseline="no-replay",
        metric="forgetting",
        direction=-1,
        seeds=tuple(range(30)),
        note="The same contrast on forgetting (lower is better, hence -1).",
    ),
)


def mix_shares(weights: np.ndarray, current: int, current_fraction: float) -> np.ndarray:
    """The shares ``(..., K, L)`` (each summing to 1) of a step's examples that valid action
    ``weights`` ``(..., K, L)`` give each (task, level) cell when task ``current`` is current (tasks
    ``0 .. current`` have arrived) and the current task gets at least ``current_fraction``; see
    :class:`Rehearsal`'s Action Space. Leading axes hold candidate actions (the oracle's search)."""
    weights = np.asarray(weights, dtype=np.float64)
    num_levels = weights.shape[-1]
    arrived = weights[..., : current + 1, :]
    total = arrived.sum(axis=(-2, -1), keepdims=True)
    row = weights[..., current, :]
    row_total = row.sum(axis=-1, keepdims=True)
    spread = np.where(row_total > 0, row / np.where(row_total > 0, row_total, 1.0), 1.0 / num_levels)
    shares = np.zeros_like(weights)
    shares[..., : current + 1, :] = (1.0 - current_fraction) * arrived / np.where(total > 0, total, 1.0)
    shares[..., current, :] += current_fraction * spread
    # All weight on tasks yet to arrive: every example goes to the current task, spread evenly.
    nothing = total[..., 0, 0] <= 0
    shares[nothing] = 0.0
    shares[nothing, current, :] = 1.0 / num_levels
    return shares


@dataclass(frozen=True)
class RehearsalConfig(TeachingConfig):
    """Settings of :class:`Rehearsal`: those of every teaching env and the arrival schedule.

    Attributes:
        steps_per_task: steps between two arrivals: task ``k`` (skill ``k`` of the domain) becomes
            the current task at step ``k * steps_per_task`` (steps count from 0) and stays current
            until the next one arrives; the last task stays current to the end of the episode.
        current_fraction: share of every step's examples that goes to the current task whatever the
            action (a floor; the action may give it more), in [0, 1].
    """

    steps_per_task: int = 10
    current_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "Rehearsal env"
        require(self.steps_per_task >= 1, owner, "steps_per_task", self.steps_per_task, "an int >= 1")
        require(
            0.0 <= self.current_fraction <= 1.0,
            owner,
            "current_fraction",
            self.current_fraction,
            "a number in [0, 1]",
        )
        # The family scores the tasks arrived so far; a fixed subset of tasks is not defined before
        # they arrive.
        require(
            self.objective != "target-gain",
            owner,
            "objective",
            self.objective,
            "'mean-gain' or a callable ('target-gain' needs every skill present from the start)",
        )


@dataclass(frozen=True)
class RehearsalState:
    """The family's own state of ``n`` episodes."""

    last_allocation: np.ndarray  # float32 (n, K, L): share of the last step's examples per cell
    best: np.ndarray  # float64 (n, K): best validation accuracy of each arrived task since it arrived
    num_tracked: np.ndarray  # int64 (n,): tasks whose best is recorded (those arrived so far)


@dataclass(frozen=True)
class ArrivedProfile(Profile):
    """Profiles ``(n, K, L)`` of episodes with different numbers of arrived tasks (a vector env whose
    envs were reset at different steps): ``mean`` is each episode's mean over its own arrived tasks,
    while ``accuracy`` and ``level_accuracy`` keep all ``K`` tasks (a profile cannot be ragged)."""

    num_arrived: np.ndarray  # int64 (n,)

    @cached_property
    def mean(self) -> np.ndarray:
        accuracy, mean = self.accuracy, np.empty(len(self.num_arrived))
        for count in np.unique(self.num_arrived):  # a group per count: the same sums as one episode's
            rows = self.num_arrived == count
            mean[rows] = accuracy[rows, :count].mean(axis=-1)
        mean.flags.writeable = False
        return mean


class Rehearsal(Family):
    """## Description

    Continual learning with a teacher who decides what to rehearse. The domain's ``K`` skills are
    ``K`` tasks that arrive on a fixed schedule: task ``k`` becomes the *current* task at step
    ``k * steps_per_task`` and stays current until task ``k + 1`` arrives (the last one stays to the
    end). Each step the teacher mixes the current task with replay of the tasks that arrived
    earlier; the student trains on the mixture and is assessed on every task. A student that only
    ever trains on the current task forgets the earlier ones (catastrophic interference in the MLP
    on permuted digits, McCloskey & Cohen 1989; power-law decay of memory traces in the simulated
    student, Wixted & Ebbesen 1991); rehearsal schedules such as power-law recurrence (Gandhi et al.
    2024, "Catastrophic Interference is Mitigated in Naturalistic Power-Law Learning Environments")
    or spaced repetition (Leitner boxes) trade practice on the new task against keeping the old.

    ## Action Space

    ``Box(0, 1, (K, L), float32)``: non-negative weights over (task, difficulty level) cells, turned
    into the step's ``examples_per_step`` examples as follows. Weights on tasks that have not yet
    arrived are ignored. Let ``c`` be the current task, ``W`` the total weight on arrived tasks
    (``c`` included) and ``f = current_fraction``. Arrived task ``k`` receives the share
    ``(1 - f) * w_k / W`` of the examples, and the current task receives ``f`` on top of its own
    share, so it always gets at least ``f``. Within a task, examples follow the weights over its
    levels (the current task's floor ``f`` is spread evenly over its levels when its row is zero).
    If ``W`` is zero (all weight on tasks yet to arrive) every example goes to the current task.
    Shares become integer counts by largest-remainder rounding.

    So a one-hot action on the current task is *no replay*, zero weight on the current task replays
    exactly ``1 - f`` of the step, and all ones spreads ``1 - f`` evenly over the arrived tasks. Every
    action in the space except all zeros is valid; all-zero, NaN/inf, negative or out-of-range
    weights and any other shape are refused with ``InvalidActionError`` and change nothing.

    ## Observation Space

    ``Dict`` with ``profile`` (``(K,)`` validation accuracy per task, arrived or not),
    ``level_profile`` (``(K, L)``), ``budget`` (``(1,)`` fraction of steps left), ``arrived`` (``(K,)``,
    1 for tasks that have arrived by the next step), ``current`` (``(K,)``, one-hot current task of
    the next step) and ``last_allocation`` (``(K, L)`` fraction of the last step's examples per cell;
    zeros after reset). All float32 in [0, 1].

    ## Rewards

    The gain in mean validation accuracy over the tasks that have arrived. Formally the objective
    (``objective``, default ``"mean-gain"``) is applied to the profiles restricted to the arrived
    tasks: the previous profile to the tasks arrived before the step, the new one to the tasks
    arrived after it (those the next observation marks in ``arrived``). ``info["mean_accuracy"]``
    is, in this family, that mean over the arrived tasks.

    The return therefore telescopes to the final mean accuracy over the arrived tasks (all ``K``
    when ``num_steps >= (K - 1) * steps_per_task + 1``) minus the initial accuracy on task 0. When
    task ``k`` arrives it joins the mean at its accuracy before any training on it, so the step
    that brings it adds ``(a_k - m) / (k + 1)`` to the reward (``a_k`` its accuracy, ``m`` the mean
    over the earlier tasks): typically a drop that no action avoids, the price of a new task.

    ## Starting State

    A fresh student drawn from the reset seed; task 0 is current and the only one arrived.

    ## Episode End

    Truncated after ``num_steps`` steps; never terminated. The last ``info`` carries the hidden test
    split: ``test_profile`` over all tasks, and ``test_accuracy`` (with ``validation_test_gap``)
    as the mean over the arrived tasks; ``initial_accuracy`` and ``initial_test_accuracy`` are the
    means over the tasks arrived at reset (task 0), matching the return.

    ``info`` also carries, every step, ``forgetting``: ``{task: best validation accuracy since it
    arrived minus current validation accuracy}`` for the arrived tasks (>= 0), and
    ``mean_forgetting``: its mean over the arrived tasks other than the current one (the average
    forgetting of Chaudhry et al. 2018; 0 while task 0 is the only one).

    ## Arguments

    ``domain``, ``domain_options``, ``student``, ``student_options``, ``engine``, ``num_steps``,
    ``examples_per_step``, ``objective`` (see ``teachgym.composition.TeachingConfig``),
    ``steps_per_task``, ``current_fraction`` (see :class:`RehearsalConfig`) and ``render_mode``
    (``None`` or ``"ansi"``). The domain's skills are the tasks, in order of arrival. ``Sim`` passes
    ``domain_options={"skills": "five-tasks"}`` (5 tasks of 3 levels); options given to ``make`` replace
    that dict, so keep ``skills`` in them.

    ## Why It Matters

    A learner trained only on the newest task forgets the earlier ones; what to rehearse, and when, is
    a teaching decision with a measurable cost in new-task practice and a measurable gain in memory.

    ## References

    * Gandhi et al. (2024), "Catastrophic Interference is Mitigated in Naturalistic Power-Law Learning
      Environments": power-law rehearsal.
    * McCloskey & Cohen (1989): catastrophic interference; Wixted & Ebbesen (1991): power-law forgetting.
    * Chaudhry et al. (2018): the average forgetting reported in ``info["mean_forgetting"]``.

    ## Version History

    * v0: initial version.
    """

    name = "Rehearsal"
    action_kind = "allocation"
    config_class = RehearsalConfig
    extra_observation_keys = ("arrived", "current", "last_allocation")
    extra_info_keys = ("forgetting", "mean_forgetting")
    public_settings = ("steps_per_task", "current_fraction")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config: RehearsalConfig
        self.num_tasks: int = self.skills.num_skills
        self.steps_per_task: int = self.config.steps_per_task
        self.current_fraction: float = self.config.current_fraction
        self.action_space = spaces.Box(0.0, 1.0, (self.num_tasks, self.skills.num_levels), np.float32)
        self._arrived_skills: dict[int, SkillSpace] = {}

    # ------------------------------------------------------------------ schedule
    def current_task(self, step: int | np.ndarray) -> Any:
        """The current task of step ``step`` (steps count from 0): an int, or an int64 array of the
        steps' current tasks."""
        task = np.minimum(np.asarray(step) // self.steps_per_task, self.num_tasks - 1)
        return int(task) if task.ndim == 0 else task

    def num_arrived(self, step: int | np.ndarray) -> Any:
        """Tasks arrived by step ``step``: tasks ``0 .. current_task(step)``. Counted at most up to the
        episode's last step: once the episode is over, no further task arrives."""
        return self.current_task(np.minimum(step, self.num_steps - 1)) + 1

    def mix(self, weights: np.ndarray, step: int) -> np.ndarray:
        """The shares ``(K, L)`` (summing to 1) of step ``step``'s examples that the valid ``weights``
        give each (task, level) cell; see the Action Space section."""
        return mix_shares(weights, self.current_task(step), self.current_fraction)

    def mixes(self, weights: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """:meth:`mix` of ``n`` episodes' weights ``(n, K, L)`` at their steps ``(n,)``."""
        current = self.current_task(steps)
        shares = np.empty_like(weights)
        for task in np.unique(current):  # one call per current task (usually one: a shared schedule)
            rows = current == task
            shares[rows] = mix_shares(weights[rows], int(task), self.current_fraction)
        return shares

    def restrict(self, profile: Profile, num_arrived: np.ndarray) -> Profile:
        """``profile`` ``(n, K, L)`` over the first ``num_arrived[i]`` tasks of each episode ``i``: a
        profile of those tasks only where the counts agree, else an :class:`ArrivedProfile`."""
        counts = np.unique(num_arrived)
        if len(counts) > 1:
            return ArrivedProfile(profile.skills, profile.level_accuracy, profile.level_counts, num_arrived)
        count = int(counts[0])
        if count == self.num_tasks:
            return profile
        if count not in self._arrived_skills:
            self._arrived_skills[count] = SkillSpace(
                names=self.skills.names[:count], num_levels=self.skills.num_levels
            )
        return Profile(
            self._arrived_skills[count],
            profile.level_accuracy[..., :count, :],
            profile.level_counts[:count],
        )

    # ------------------------------------------------------------------ array functions
    def observation_spaces(self) -> dict[str, spaces.Space[Any]]:
        num_tasks, num_levels = self.num_tasks, self.skills.num_levels
        return {
            "arrived": spaces.Box(0.0, 1.0, (num_tasks,), np.float32),
            "current": spaces.Box(0.0, 1.0, (num_tasks,), np.float32),
            "last_allocation": spaces.Box(0.0, 1.0, (num_tasks, num_levels), np.float32),
        }

    def reset(self, state: EpisodeState, student: Any) -> tuple[RehearsalState, bool]:
        n = state.size
        last_allocation = np.zeros((n, *self.action_space.shape), np.float32)  # type: ignore[misc]
        best, num_tracked = np.zeros((n, self.num_tasks)), np.zeros(n, np.int64)
        return self._tracked(state, last_allocation, best, num_tracked), False

    def plan(self, state: EpisodeState, actions: Sequence[Any]) -> Lesson:
        weights = as_allocations(actions, self.action_space)  # type: ignore[arg-type]
        return Lesson(Plan(allocate(self.mixes(weights, state.step), self.examples_per_step)))

    def update(self, state: EpisodeState, lesson: Lesson, answers: Any, student: Any) -> RehearsalState:
        last_allocation = (lesson.plan.counts / self.examples_per_step).astype(np.float32)
        return self._tracked(state, last_allocation, state.family.best, state.family.num_tracked)

    def _tracked(
        self, state: EpisodeState, last_allocation: np.ndarray, best: np.ndarray, num_tracked: np.ndarray
    ) -> RehearsalState:
        """The family's state with the best validation accuracy of every arrived task since its arrival."""
        accuracy = state.profile.accuracy
        num_arrived = self.num_arrived(state.step)
        tasks = np.arange(self.num_tasks)
        arrived = tasks < num_arrived[:, None]
        # A task's record starts when it arrives.
        best = np.where(arrived & (tasks >= num_tracked[:, None]), accuracy, best)
        best = np.where(arrived, np.maximum(best, accuracy), best)
        return RehearsalState(last_allocation, best, num_arrived)

    def scored(self, state: EpisodeState, profile: Profile) -> Profile:
        """``profile`` over the tasks arrived by ``state``'s step (a task that arrives with a step joins
        the mean of the profile after it; see Rewards)."""
        return self.restrict(profile, self.num_arrived(state.step))

    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        last = self.num_arrived(state.step)[:, None] - 1  # the current task of the next step
        tasks = np.arange(self.num_tasks)
        return {
            "arrived": (tasks <= last).astype(np.float32),
            "current": (tasks == last).astype(np.float32),
            "last_allocation": state.family.last_allocation.copy(),
        }

    def info(self, state: EpisodeState) -> dict[str, Any]:
        num_arrived = self.num_arrived(state.step)
        forgetting = state.family.best - state.profile.accuracy  # (n, K); reported for arrived tasks
        names = self.skills.names
        per_task = [
            {name: round(float(f), 6) for name, f in zip(names[:count], row[:count], strict=True)}
            for row, count in zip(forgetting, num_arrived, strict=True)
        ]
        mean = np.zeros(state.size)  # 0 while the current task is the only one
        for count in np.unique(num_arrived[num_arrived > 1]):
            rows = num_arrived == count
            mean[rows] = forgetting[rows, : count - 1].mean(axis=-1)  # the tasks before the current one
        return {"forgetting": per_task, "mean_forgetting": mean}


class RehearsalEnv(TeachingEnv):
    """The Rehearsal family as a Gymnasium env (see :class:`Rehearsal`)."""

    FAMILY = Rehearsal
