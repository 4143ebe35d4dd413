"""Learning-progress bandits over sub-tasks: EXP3 and absolute learning progress (after ALP-GMM).

Both are rewarded, like TSCL's teachers, by the chosen sub-task's learning progress: its score after
training minus its score after its previous training (or at the start of the episode), read from
consecutive ``profile`` observations. Scores are validation accuracies in [0, 1].
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import register
from teachgym.agents.tscl import CURRICULUM_KINDS, CURRICULUM_NEEDS, ProgressTeacher
from teachgym.config import check_bool, check_choice, check_int, check_real
from teachgym.task import TaskDescription

RESCALES: tuple[str, ...] = ("quantile", "range")
#: Percentiles of past progress mapped to rewards 0 and 1 by ``rescale="quantile"`` (Graves et al.
#: 2017, "Automated Curriculum Learning for Neural Networks", rescale their progress signals this way).
QUANTILES: tuple[float, float] = (20.0, 80.0)


@register(
    "exp3",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="EXP3 (Auer, Cesa-Bianchi, Freund & Schapire 2002) on learning progress, as in TSCL's bandit view",
    summary="adversarial bandit over sub-tasks: exponential weights on importance-weighted progress",
)
class Exp3Teacher(ProgressTeacher):
    """EXP3 (Auer et al. 2002, "The nonstochastic multiarmed bandit problem") over sub-tasks.

    With weights ``w`` (one per sub-task, all 1 at the start), sub-task ``i`` is drawn with probability
    ``p_i = (1 - gamma) * w_i / sum(w) + gamma / K``. After training the drawn sub-task ``a`` the raw
    reward is its learning progress (``|progress|`` with ``absolute``), rescaled into ``x`` in [0, 1];
    the importance-weighted estimate ``x / p_a`` updates ``w_a <- w_a * exp(gamma * x / (p_a * K))``.
    Weights are kept as logarithms, shifted so the largest is 0 (this leaves ``p`` unchanged).

    Rescaling into [0, 1] (knob ``rescale``): ``"quantile"`` (default) maps the raw reward linearly
    between the 20th and 80th percentiles of the last ``history`` raw rewards (clipped; 0.5 while they
    coincide), as Graves et al. (2017) do for their EXP3.S teacher, because raw progress per step is
    small and its scale unknown; ``"range"`` is the fixed map of the reward's range, ``|progress|``
    itself with ``absolute`` and ``(progress + 1) / 2`` without.

    Args:
        gamma: float in (0, 1], exploration share and learning rate (default 0.1).
        absolute: bool, reward ``|progress|`` so forgetting attracts practice (default True).
        rescale: ``"quantile"`` (default) or ``"range"``.
        history: int >= 1, raw rewards kept for the quantiles (default 1000).
    """

    name = "exp3"

    def __init__(
        self,
        task: TaskDescription,
        *,
        gamma: float = 0.1,
        absolute: bool = True,
        rescale: str = "quantile",
        history: int = 1000,
    ) -> None:
        super().__init__(task)
        self.gamma = check_real(self.owner, "gamma", gamma, 0.0, 1.0, low_open=True)
        self.absolute = check_bool(self.owner, "absolute", absolute)
        self.rescale = check_choice(self.owner, "rescale", rescale, RESCALES)
        self.history = check_int(self.owner, "history", history, 1, 10**7)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.log_weights = np.zeros(self.num_tasks)
        self.past: deque[float] = deque(maxlen=self.history)
        self.chosen_probability = 1.0

    def probabilities(self) -> np.ndarray:
        """The current sampling distribution over sub-tasks."""
        weights = np.exp(self.log_weights - self.log_weights.max())
        return (1.0 - self.gamma) * weights / weights.sum() + self.gamma / self.num_tasks

    def choose(self, scores: np.ndarray) -> int:
        p = self.probabilities()
        task = int(self.rng.choice(self.num_tasks, p=p))
        self.chosen_probability = float(p[task])
        return task

    def scaled(self, raw: float) -> float:
        """``raw`` progress as a reward in [0, 1] (after it joined the history)."""
        if self.rescale == "range":
            return raw if self.absolute else (raw + 1.0) / 2.0
        low, high = np.percentile(np.fromiter(self.past, float), QUANTILES)
        if high <= low:
            return 0.5
        return float(np.clip((raw - low) / (high - low), 0.0, 1.0))

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        progress = self.visit_progress(task, after)
        raw = abs(progress) if self.absolute else progress
        self.past.append(raw)
        estimate = self.scaled(raw) / self.chosen_probability
        self.log_weights[task] += self.gamma * estimate / self.num_tasks
        self.log_weights -= self.log_weights.max()


@register(
    "alp",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="absolute learning progress, after ALP-GMM (Portelas et al. 2019; TeachMyAgent, Romac et al. 2021)",
    summary="sub-tasks drawn in proportion to |score change since last visit|, with a random share",
)
class AbsoluteLearningProgressTeacher(ProgressTeacher):
    """Absolute learning progress (ALP) bandit: the discrete form of ALP-GMM (Portelas et al. 2019).

    ALP-GMM samples tasks where the absolute learning progress ``|r_new - r_old|`` is high (``r_old``:
    the reward of the most similar previously sampled task), plus a uniformly random task a fixed share
    of the time. Over discrete sub-tasks the most similar earlier task is the same sub-task, so here
    ``ALP_k = |score of k after its latest training - score of k after the training before that|``
    (the first visit compares with the score at the start of the episode); forgetting between visits
    counts as progress. The episode starts by training every sub-task once, in a random order (the
    bootstrap); afterwards, with probability ``random_share`` a sub-task is drawn uniformly, otherwise
    in proportion to its ALP (uniformly while every ALP is 0).

    Args:
        random_share: float in [0, 1], share of uniformly random choices (default 0.2, ALP-GMM's).
    """

    name = "alp"

    def __init__(self, task: TaskDescription, *, random_share: float = 0.2) -> None:
        super().__init__(task)
        self.random_share = check_real(self.owner, "random_share", random_share, 0.0, 1.0)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.alp = np.zeros(self.num_tasks)
        self.bootstrap = [int(k) for k in self.rng.permutation(self.num_tasks)]

    def probabilities(self) -> np.ndarray:
        """The sampling distribution after the bootstrap."""
        uniform = np.full(self.num_tasks, 1.0 / self.num_tasks)
        total = self.alp.sum()
        if total <= 0:
            return uniform
        return (1.0 - self.random_share) * self.alp / total + self.random_share * uniform

    def choose(self, scores: np.ndarray) -> int:
        if self.bootstrap:
            return self.bootstrap.pop(0)
        if self.rng.random() < self.random_share or self.alp.sum() <= 0:
            return int(self.rng.integers(self.num_tasks))
        return int(self.rng.choice(self.num_tasks, p=self.alp / self.alp.sum()))

    def update(self, task: int, before: np.ndarray, after: np.ndarray) -> None:
        self.alp[task] = abs(self.visit_progress(task, after))
