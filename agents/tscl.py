"""Teacher-Student Curriculum Learning (Matiisen, Oliver, Cohen & Schulman 2017, arXiv 1707.00183).

The teacher picks the next sub-task for the student to train on. Its signal is *learning progress*:
the slope of a sub-task's score curve. With ``absolute=True`` (the paper's choice) it uses ``|slope|``,
so a sub-task whose score *falls* (forgetting) attracts practice just like one whose score rises.

Four teachers, each the paper's algorithm:

- ``tscl-online`` (Algorithm 1): ``Q(a) <- alpha * r + (1 - alpha) * Q(a)`` with ``r`` the change of
  the chosen sub-task's score.
- ``tscl-naive`` (Algorithm 2): train the chosen sub-task for a burst of ``burst`` steps, take the
  least-squares slope of the burst's scores, and smooth it into ``Q`` as above.
- ``tscl-window`` (Algorithm 3): keep the last ``window`` scores of each sub-task with the steps at
  which they were recorded; the slope of a least-squares line through them is the progress.
- ``tscl-sampling`` (Algorithm 4): keep the last ``window`` rewards of each sub-task; draw one reward
  from each buffer and train the sub-task with the largest draw (Thompson-like); a sub-task with an
  empty buffer is chosen first.

**What the teacher observes** (knob ``observe``). The paper's algorithms see only the score of the
sub-task just trained, and define the reward as ``x_t[a] - x_t'[a]`` where ``t'`` is the last step at
which sub-task ``a`` was trained: the change *since the last visit*, forgetting in between included
(``observe="chosen"``, the default). The authors' code for the addition experiments instead reads
every sub-task's validation score after every step and updates all sub-tasks from their one-step
changes (``observe="all"``). teachgym's ``profile`` holds every score, so both are possible; the
teacher computes the rewards itself from consecutive ``profile`` vectors (the env's reward, the gain
in mean score, is not TSCL's per-task signal).

**Selection** (knob ``selection``). Online, Naive and Window choose from ``|Q|`` (or ``Q``) with
``"epsilon-greedy"`` (a uniformly random sub-task with probability ``epsilon``, else the best one,
ties broken at random) or ``"boltzmann"`` (probability proportional to ``exp(Q / temperature)``).
With ``"thompson"`` they draw each sub-task's value from a Gaussian around ``Q`` whose spread is that of
recent rewards shrunk by ``sqrt(1 + visits)``, and rank the draws (Gaussian Thompson sampling; the paper's
own Thompson-like method is the Sampling algorithm). Sampling
takes ``"thompson"`` (default, the paper's algorithm) or, as in the authors' code, ``"epsilon-greedy"``
/ ``"boltzmann"`` applied to the mean of each buffer.

Scores are validation accuracies in [0, 1]; slopes and rewards are in score units per teacher step.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_bool, check_choice, check_int, check_real
from teachgym.errors import UnsupportedError
from teachgym.task import TaskDescription

#: Families whose action is a Discrete choice of the next sub-task, ordered easiest to hardest.
#: Curriculum teachers choose the next sub-task (``choice``) from the per-sub-task validation
#: profile, which Curriculum shows and Tutor hides.
CURRICULUM_KINDS: tuple[str, ...] = ("choice",)
CURRICULUM_NEEDS: tuple[str, ...] = ("profile",)
PAPER = "Teacher-Student Curriculum Learning (Matiisen et al. 2017, arXiv 1707.00183)"
SELECTIONS: tuple[str, ...] = ("epsilon-greedy", "boltzmann", "thompson")
#: Recent rewards whose spread scales the Thompson draws of Online, Naive and Window.
THOMPSON_MEMORY = 100
OBSERVES: tuple[str, ...] = ("chosen", "all")


def num_choices(task: TaskDescription, owner: str) -> int:
    """The number of sub-tasks of the task's ``Discrete`` action space, or an UnsupportedError."""
    space = task.action_space
    if not isinstance(space, spaces.Discrete):
        raise UnsupportedError(f"{owner} needs a Discrete choice of sub-task, not the action space {space}")
    return int(space.n)


def profile_of(obs: Observation) -> np.ndarray:
    """The per-sub-task scores of ``obs`` as float64 in [0, 1]."""
    return np.clip(np.asarray(obs["profile"], dtype=np.float64).reshape(-1), 0.0, 1.0)


def linear_slope(times: Any, scores: Any) -> float:
    """Least-squares slope of ``scores`` against ``times`` (numpy's ``polyfit`` degree 1); 0 when fewer
    than two points or all at the same time."""
    x = np.asarray(times, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    if x.size < 2:
        return 0.0
    dx = x - x.mean()
    denominator = float(dx @ dx)
    return float(dx @ (y - y.mean()) / denominator) if denominator > 0 else 0.0


def argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest value, ties broken uniformly at random."""
    best = np.flatnonzero(values == values.max())
    return int(best[rng.integers(best.size)]) if best.size > 1 else int(best[0])


def select(
    values: np.ndarray, selection: str, rng: np.random.Generator, *, epsilon: float, temperature: float
) -> int:
    """Choose an index from ``values`` by ``"epsilon-greedy"`` or ``"boltzmann"`` selection."""
    if selection == "boltzmann":
        logits = (values - values.max()) / temperature  # <= 0: exp cannot overflow
        weights = np.exp(logits)
        return int(rng.choice(values.size, p=weights / weights.sum()))
    if rng.random() < epsilon:
        return int(rng.integers(values.size))
    return argmax_random_ties(values, rng)


class ProgressTeacher(BaseTeacher):
    """Shared plumbing of the learning-progress teachers (not registered itself).

    Keeps the scores before the step (from ``act``'s observation), each sub-task's score right after
    it was last trained (``visit_score``, initialised with the scores at the start of the episode),
    the step count ``t`` (0 at the episode's first observation) and the sub-task chosen last.
    """

    name = "progress"

    def __init__(self, task: TaskDescription) -> None:
        self.owner = f"teacher {self.name!r}"
        self.num_tasks = num_choices(task, self.owner)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.num_tasks = int(getattr(action_space, "n", self.num_tasks))
        self.start = int(getattr(action_space, "start", 0))
        self.t = 0
        self.before: np.ndarray | None = None
        self.visit_score: np.ndarray | None = None
        self.last = 0
        self.started = False

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        scores = profile_of(obs)
        if not self.started:
            self.started = True
            self.visit_score = scores.copy()
            self.on_start(scores)
        self.before = scores
        self.last = self.choose(scores)
        return np.int64(self.start + self.last)

    def observe(
        self, obs: Observation, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> None:
        if self.before is None or self.visit_score is None:
            return  # observe without act: nothing was chosen
        self.t += 1
        after = profile_of(obs)
        self.update(self.last, self.before, after)
        self.visit_score[self.last] = after[self.last]

    def visit_progress(self, task: int, after: np.ndarray) -> float:
        """TSCL's reward for ``task``: its score now minus its score after its previous training (or at
        the start of the episode): the change since the last visit."""
        assert self.visit_score is not None
        return float(after[task] - self.visit_score[task])

    # Hooks.
    def on_start(self, scores: np.ndarray) -> None:
        """Called with the episode's first scores."""

    def choose(self, scores: np.ndarray) -> int:
        raise NotImplementedError

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        raise NotImplementedError


class _QTeacher(ProgressTeacher):
    """Online, Naive and Window: a value ``Q`` per sub-task, chosen from ``|Q|`` (or ``Q``)."""

    def _init_selection(
        self, selection: str, epsilon: float, temperature: float, absolute: bool, observe: str
    ) -> None:
        self.selection = check_choice(self.owner, "selection", selection, SELECTIONS)
        self.epsilon = check_real(self.owner, "epsilon", epsilon, 0.0, 1.0)
        self.temperature = check_real(self.owner, "temperature", temperature, 0.0, low_open=True)
        self.absolute = check_bool(self.owner, "absolute", absolute)
        self.observe_mode = check_choice(self.owner, "observe", observe, OBSERVES)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.q = np.zeros(self.num_tasks)
        self.visits = np.zeros(self.num_tasks)
        self.recent_rewards: deque[float] = deque(maxlen=THOMPSON_MEMORY)

    def observe(
        self, obs: Observation, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> None:
        if self.before is not None and self.visit_score is not None:
            self.recent_rewards.append(self.visit_progress(self.last, profile_of(obs)))
            self.visits[self.last] += 1
        super().observe(obs, reward, terminated, truncated, info)

    def values(self) -> np.ndarray:
        """What selection ranks: ``|Q|`` with ``absolute``, else ``Q``."""
        return np.abs(self.q) if self.absolute else self.q.copy()

    def choose(self, scores: np.ndarray) -> int:
        if self.selection == "thompson":
            # Gaussian Thompson sampling over Q: each sub-task's value is drawn around its estimate with a
            # spread that shrinks as it is visited (the spread of recent rewards / sqrt(1 + visits)).
            spread = float(np.std(self.recent_rewards)) if len(self.recent_rewards) > 1 else 1.0
            draw = self.q + self.rng.normal(0.0, 1.0, self.num_tasks) * spread / np.sqrt(1.0 + self.visits)
            return argmax_random_ties(np.abs(draw) if self.absolute else draw, self.rng)
        values = self.values()
        return select(values, self.selection, self.rng, epsilon=self.epsilon, temperature=self.temperature)


@register(
    "tscl-online",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper=PAPER + ", Online algorithm",
    summary="sub-task by epsilon-greedy/Boltzmann on |Q|, Q an exponential average of score changes",
)
class TsclOnlineTeacher(_QTeacher):
    """TSCL's Online algorithm (Algorithm 1): a non-stationary bandit on learning progress.

    After training sub-task ``a`` the teacher receives ``r = x_t[a] - x_t'[a]`` (its score now minus its
    score after its previous training; ``observe="chosen"``) and updates
    ``Q(a) <- alpha * r + (1 - alpha) * Q(a)``. With ``observe="all"`` every sub-task ``k`` is updated
    from its one-step change ``x_t[k] - x_{t-1}[k]`` (the authors' addition code). The next sub-task is
    chosen from ``|Q|`` (``absolute=True``) by ``selection``.

    Args:
        alpha: float in (0, 1], the smoothing rate of ``Q`` (default 0.1, the authors' code).
        selection: ``"epsilon-greedy"`` (default), ``"boltzmann"`` or ``"thompson"``.
        epsilon: float in [0, 1], exploration probability of epsilon-greedy (default 0.1).
        temperature: float > 0, Boltzmann temperature in score units per step (default 0.001).
        absolute: bool, rank ``|Q|`` so that forgetting attracts practice (default True).
        observe: ``"chosen"`` (default, the paper) or ``"all"`` (see the module docstring).
    """

    name = "tscl-online"

    def __init__(
        self,
        task: TaskDescription,
        *,
        alpha: float = 0.1,
        selection: str = "epsilon-greedy",
        epsilon: float = 0.1,
        temperature: float = 0.001,
        absolute: bool = True,
        observe: str = "chosen",
    ) -> None:
        super().__init__(task)
        self.alpha = check_real(self.owner, "alpha", alpha, 0.0, 1.0, low_open=True)
        self._init_selection(selection, epsilon, temperature, absolute, observe)

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        if self.observe_mode == "all":
            self.q += self.alpha * ((after - before) - self.q)
        else:
            self.q[task] += self.alpha * (self.visit_progress(task, after) - self.q[task])


@register(
    "tscl-naive",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper=PAPER + ", Naive algorithm",
    summary="bursts of a few steps on one sub-task; the regression slope of the burst's scores updates Q",
)
class TsclNaiveTeacher(_QTeacher):
    """TSCL's Naive algorithm (Algorithm 2): practise a sub-task for a short burst, then judge it.

    The chosen sub-task ``a`` is trained for ``burst`` consecutive steps; the least-squares slope ``r``
    of the burst's scores of ``a`` against the step within the burst (1 .. ``burst``) updates
    ``Q(a) <- alpha * r + (1 - alpha) * Q(a)``; then the next sub-task is chosen from ``|Q|``. With
    ``observe="all"`` the slope of every sub-task's scores during the burst updates its own ``Q``
    (the authors' addition code). An episode that ends mid-burst leaves that burst unjudged.

    Args:
        burst: int >= 2, steps per burst (default 10, the authors' code's ``window_size``).
        alpha: float in (0, 1], the smoothing rate of ``Q`` (default 0.1).
        selection, epsilon, temperature, absolute, observe: as for ``tscl-online``.
    """

    name = "tscl-naive"

    def __init__(
        self,
        task: TaskDescription,
        *,
        burst: int = 10,
        alpha: float = 0.1,
        selection: str = "epsilon-greedy",
        epsilon: float = 0.1,
        temperature: float = 0.001,
        absolute: bool = True,
        observe: str = "chosen",
    ) -> None:
        super().__init__(task)
        self.burst = check_int(self.owner, "burst", burst, 2, 10**6)
        self.alpha = check_real(self.owner, "alpha", alpha, 0.0, 1.0, low_open=True)
        self._init_selection(selection, epsilon, temperature, absolute, observe)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.burst_task: int | None = None
        self.burst_scores: list[np.ndarray] = []

    def choose(self, scores: np.ndarray) -> int:
        if self.burst_task is None:
            self.burst_task = super().choose(scores)
            self.burst_scores = []
        return self.burst_task

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        self.burst_scores.append(after)
        if len(self.burst_scores) < self.burst:
            return
        scores = np.stack(self.burst_scores)  # (burst, K)
        steps = np.arange(1, self.burst + 1)
        if self.observe_mode == "all":
            slopes = np.array([linear_slope(steps, scores[:, k]) for k in range(self.num_tasks)])
            self.q += self.alpha * (slopes - self.q)
        else:
            self.q[task] += self.alpha * (linear_slope(steps, scores[:, task]) - self.q[task])
        self.burst_task = None


@register(
    "tscl-window",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper=PAPER + ", Window algorithm",
    summary="slope of a regression line through each sub-task's last scores; epsilon-greedy/Boltzmann",
)
class TsclWindowTeacher(_QTeacher):
    """TSCL's Window algorithm (Algorithm 3): the slope over a sliding window of recorded scores.

    Each sub-task keeps a FIFO buffer of its last ``window`` scores and the steps at which they were
    recorded, seeded with its score at the start of the episode (step 0). After training sub-task
    ``a`` at step ``t`` the pair ``(t, x_t[a])`` enters ``a``'s buffer (``observe="chosen"``; with
    ``"all"`` every sub-task's score enters its own buffer every step, as in the authors' code), the
    least-squares slope ``r`` of the buffer is computed, and ``Q(a) <- alpha * r + (1 - alpha) * Q(a)``.
    With the default ``alpha=1`` ``Q`` is the raw windowed slope, as in the authors' code; ``alpha < 1``
    adds exponential smoothing on top.

    Args:
        window: int >= 2, scores kept per sub-task (default 10).
        alpha: float in (0, 1] (default 1.0).
        selection, epsilon, temperature, absolute, observe: as for ``tscl-online``.
    """

    name = "tscl-window"

    def __init__(
        self,
        task: TaskDescription,
        *,
        window: int = 10,
        alpha: float = 1.0,
        selection: str = "epsilon-greedy",
        epsilon: float = 0.1,
        temperature: float = 0.001,
        absolute: bool = True,
        observe: str = "chosen",
    ) -> None:
        super().__init__(task)
        self.window = check_int(self.owner, "window", window, 2, 10**6)
        self.alpha = check_real(self.owner, "alpha", alpha, 0.0, 1.0, low_open=True)
        self._init_selection(selection, epsilon, temperature, absolute, observe)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.buffers: list[deque[tuple[int, float]]] = [
            deque(maxlen=self.window) for _ in range(self.num_tasks)
        ]

    def on_start(self, scores: np.ndarray) -> None:
        for k in range(self.num_tasks):
            self.buffers[k].append((0, float(scores[k])))

    def slope(self, task: int) -> float:
        """The least-squares slope of ``task``'s window (score per step)."""
        times, scores = zip(*self.buffers[task], strict=True)
        return linear_slope(times, scores)

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        tasks = range(self.num_tasks) if self.observe_mode == "all" else (task,)
        for k in tasks:
            self.buffers[k].append((self.t, float(after[k])))
            self.q[k] += self.alpha * (self.slope(k) - self.q[k])


@register(
    "tscl-sampling",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper=PAPER + ", Sampling algorithm",
    summary="draws one recent reward per sub-task and trains the largest |draw|; empty buffers first",
)
class TsclSamplingTeacher(ProgressTeacher):
    """TSCL's Sampling algorithm (Algorithm 4): Thompson-like sampling from recent rewards.

    Each sub-task keeps a FIFO buffer of its last ``window`` rewards (``r = x_t[a] - x_t'[a]``, the
    change since its previous training, with ``observe="chosen"``; with ``"all"`` every sub-task's
    one-step change enters its buffer every step, as in the authors' code). To choose, a sub-task with
    an empty buffer is taken first (uniformly among such); otherwise one reward is drawn uniformly
    from each buffer and the sub-task with the largest ``|draw|`` (``absolute=True``) is trained, ties
    broken at random. Exploration needs no knob: a sub-task with recent large progress is drawn high
    more often. With ``selection="epsilon-greedy"`` or ``"boltzmann"`` the buffer *means* are ranked by
    that rule instead (the authors' code's non-Thompson variants).

    Args:
        window: int >= 1, rewards kept per sub-task (default 10).
        selection: ``"thompson"`` (default), ``"epsilon-greedy"`` or ``"boltzmann"``.
        epsilon, temperature: used by the non-Thompson selections (defaults 0.1, 0.001).
        absolute: bool, rank absolute rewards (default True).
        observe: ``"chosen"`` (default) or ``"all"``.
    """

    name = "tscl-sampling"

    def __init__(
        self,
        task: TaskDescription,
        *,
        window: int = 10,
        selection: str = "thompson",
        epsilon: float = 0.1,
        temperature: float = 0.001,
        absolute: bool = True,
        observe: str = "chosen",
    ) -> None:
        super().__init__(task)
        self.window = check_int(self.owner, "window", window, 1, 10**6)
        self.selection = check_choice(self.owner, "selection", selection, SELECTIONS)
        self.epsilon = check_real(self.owner, "epsilon", epsilon, 0.0, 1.0)
        self.temperature = check_real(self.owner, "temperature", temperature, 0.0, low_open=True)
        self.absolute = check_bool(self.owner, "absolute", absolute)
        self.observe_mode = check_choice(self.owner, "observe", observe, OBSERVES)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.buffers: list[deque[float]] = [deque(maxlen=self.window) for _ in range(self.num_tasks)]

    def choose(self, scores: np.ndarray) -> int:
        empty = [k for k in range(self.num_tasks) if not self.buffers[k]]
        if empty:
            return int(empty[self.rng.integers(len(empty))])
        if self.selection == "thompson":
            values = np.array([buffer[self.rng.integers(len(buffer))] for buffer in self.buffers])
        else:
            values = np.array([np.mean(buffer) for buffer in self.buffers])
        if self.absolute:
            values = np.abs(values)
        if self.selection == "thompson":
            return argmax_random_ties(values, self.rng)
        return select(values, self.selection, self.rng, epsilon=self.epsilon, temperature=self.temperature)

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        if self.observe_mode == "all":
            for k, change in enumerate(after - before):
                self.buffers[k].append(float(change))
        else:
            self.buffers[task].append(self.visit_progress(task, after))
