"""PUDF's ability-based data selection (Meng, Zeng, Lalor & Yu 2024, arXiv 2408.05326) over sub-tasks."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.agents.tscl import CURRICULUM_KINDS, CURRICULUM_NEEDS, num_choices, profile_of
from teachgym.config import check_choice, check_int, check_real
from teachgym.errors import UnsupportedError
from teachgym.numeric import sigmoid
from teachgym.task import TaskDescription

PICKS: tuple[str, ...] = ("hardest", "uniform")
#: Largest Newton step (logits): a trust region, since logistic Newton steps can overshoot far from the
#: optimum where the curvature is small.
MAX_STEP = 2.0
#: Smallest rise of the ability (logits) that counts as an improvement; smaller ones are refit noise.
IMPROVEMENT = 1e-3


def fit_rasch(
    accuracy: np.ndarray,
    prior_mean: np.ndarray,
    *,
    ability_scale: float = 1.0,
    difficulty_scale: float = 1.0,
    theta: np.ndarray | None = None,
    difficulty: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint MAP fit of a 1PL (Rasch) model to fractional responses.

    Respondent ``t`` answers item ``k`` correctly with probability ``sigmoid(theta_t - b_k)``; the
    observed ``accuracy[t, k]`` in [0, 1] is treated as the fraction correct of one response (a
    fractional Bernoulli outcome). Priors ``theta_t ~ N(0, ability_scale**2)`` and
    ``b_k ~ N(prior_mean_k, difficulty_scale**2)`` keep the fit finite when a row or column is all 0 or all
    1, and pin the shift that a Rasch model cannot identify. The log posterior is concave; it is
    maximised by alternating Newton steps on the abilities and on the difficulties (each block's
    Hessian is diagonal given the other; steps are capped at ``MAX_STEP`` logits), warm-started from
    ``theta`` and ``difficulty`` when given.

    Args:
        accuracy: float array ``(T, K)`` in [0, 1].
        prior_mean: float array ``(K,)``, prior means of the difficulties (logits).
        ability_scale, difficulty_scale: float > 0, prior standard deviations of the abilities and of
            the difficulties (logits).
        theta, difficulty: optional starting values, shapes ``(T,)`` and ``(K,)``.
        max_iter: alternating rounds at most.
        tol: stop when no parameter moves more than this (logits).

    Returns:
        ``(theta, difficulty)``: abilities ``(T,)`` and difficulties ``(K,)`` in logits.
    """
    y = np.clip(np.asarray(accuracy, dtype=np.float64), 0.0, 1.0)
    prior_mean = np.asarray(prior_mean, dtype=np.float64)
    num_rows = y.shape[0]
    precision = 1.0 / ability_scale**2
    precision_b = 1.0 / difficulty_scale**2
    theta = np.zeros(num_rows) if theta is None else np.array(theta, dtype=np.float64)
    b = prior_mean.copy() if difficulty is None else np.array(difficulty, dtype=np.float64)
    for _ in range(max_iter):
        p = sigmoid(theta[:, None] - b[None, :])
        step_theta = ((y - p).sum(axis=1) - precision * theta) / ((p * (1 - p)).sum(axis=1) + precision)
        step_theta = np.clip(step_theta, -MAX_STEP, MAX_STEP)
        theta = theta + step_theta
        p = sigmoid(theta[:, None] - b[None, :])
        step_b = (-(y - p).sum(axis=0) - precision_b * (b - prior_mean)) / (
            (p * (1 - p)).sum(axis=0) + precision_b
        )
        step_b = np.clip(step_b, -MAX_STEP, MAX_STEP)
        b = b + step_b
        if max(np.abs(step_theta).max(), np.abs(step_b).max()) < tol:
            break
    return theta, b


@register(
    "irt-ability",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="PUDF: IRT-AC difficulty and DDS-MAE ability-based selection (Meng et al. 2024, arXiv 2408.05326)",
    summary="Rasch difficulty per sub-task and the student's ability each step; trains difficulty <= ability",
)
class IrtAbilityTeacher(BaseTeacher):
    """PUDF over sub-tasks: IRT difficulty, ability estimated from the student's answers, and training
    data with difficulty at most the ability.

    **PUDF** (Psychology-based Unified Dynamic Framework for curriculum learning): IRT-AC fits a 1PL
    IRT model to the responses of an "artificial crowd" of models to every training item, giving each
    item a difficulty ``b``; DDS-MAE then, every epoch, estimates the model's ability ``theta`` by
    maximum likelihood from its responses to held-out items with known difficulties and trains the
    epoch on the items with ``b <= capacity``. In the authors' code the capacity is the new ability
    when it beats the best so far and otherwise grows by 0.1 (so training cannot stall), and when no
    item qualifies the easiest items are used.

    **Here** the teacher sees only per-sub-task validation accuracies, not item responses, and has no
    crowd. Approximation: the sub-task is the item, and the student at each earlier step is a member
    of the crowd. All profiles observed so far (rows = steps, columns = sub-tasks) are fitted jointly
    with :func:`fit_rasch`, each accuracy counted as one fractional response; the difficulties' prior
    means increase with the index (``linspace(-1, 1, K)`` logits), so sub-tasks are taken to be
    ordered easiest first until the data say otherwise. The ability at the current step is the fitted
    ``theta`` of the latest profile. Honest caveats: difficulties are re-estimated from the student's
    own history (PUDF fixes them beforehand from other models), so a sub-task the student has never
    trained looks harder than a fixed crowd would rate it, and the ability scale drifts slightly
    between refits; the stall increment is what moves the curriculum forward then.

    Every ``epoch_steps`` steps the fit is redone and the capacity updated as in PUDF's code: it becomes
    the current ability if that beats every earlier step's ability of the same fit (by more than
    ``IMPROVEMENT`` logits, as refits shift abilities slightly), else it grows by ``stall_step``. Each
    step the teacher trains one sub-task drawn uniformly from all with difficulty ``<= capacity``
    (``pick="uniform"``, PUDF's literal "train on every item below the ability"), or the hardest of
    them (``pick="hardest"``); when none qualifies, the easiest sub-task (smallest fitted ``b``).
    ``"uniform"`` is the default: with a forgetting student, ``"hardest"`` lets earlier sub-tasks
    decay and can skip sub-tasks.

    Args:
        stall_step: float >= 0, logits added to the capacity when the ability does not improve
            (default 0.1, PUDF's code).
        epoch_steps: int >= 1, teacher steps between ability estimates (default 1).
        pick: ``"uniform"`` (default) or ``"hardest"``.
        ability_scale: float > 0, prior standard deviation of the abilities in logits (default 3.0:
            weak, so that an ability resting on only K accuracies is not pulled far towards 0).
        difficulty_scale: float > 0, prior standard deviation of the difficulties around their
            index-ordered means in logits (default 1.0: sub-tasks the student has not trained yet,
            whose accuracy columns look alike, keep their index order and spacing instead of
            collapsing onto one difficulty that the capacity would pass all at once).
    """

    name = "irt-ability"

    def __init__(
        self,
        task: TaskDescription,
        *,
        stall_step: float = 0.1,
        epoch_steps: int = 1,
        pick: str = "uniform",
        ability_scale: float = 3.0,
        difficulty_scale: float = 1.0,
    ) -> None:
        owner = f"teacher {self.name!r}"
        self.num_tasks = num_choices(task, owner)
        if not task.settings.get("ordered", True):
            # The Rasch prior orders difficulties by index; on unordered sub-tasks (digit classes) an
            # untrained net's one-class artefact becomes "the easiest task" and the curriculum collapses.
            raise UnsupportedError(
                f"{owner} needs sub-tasks ordered by difficulty; {task.env_id}'s are not (ordered=False)"
            )
        self.stall_step = check_real(owner, "stall_step", stall_step, 0.0, 100.0)
        self.epoch_steps = check_int(owner, "epoch_steps", epoch_steps, 1, 10**6)
        self.pick = check_choice(owner, "pick", pick, PICKS)
        # Lower bounds keep the prior's 1 / scale**2 terms finite.
        self.ability_scale = check_real(owner, "ability_scale", ability_scale, 1e-3, 100.0)
        self.difficulty_scale = check_real(owner, "difficulty_scale", difficulty_scale, 1e-3, 100.0)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.num_tasks = int(getattr(action_space, "n", self.num_tasks))
        self.start = int(getattr(action_space, "start", 0))
        self.prior_mean = np.linspace(-1.0, 1.0, self.num_tasks)
        self.history: list[np.ndarray] = []
        self.theta = np.zeros(0)
        self.difficulty = self.prior_mean.copy()
        self.capacity = -np.inf
        self.steps_done = 0

    def estimate(self) -> None:
        """Refit the Rasch model to the profiles so far and update the capacity (PUDF's rule)."""
        # Warm start: earlier steps keep their last abilities, new steps start from the latest one.
        warm = np.full(len(self.history), self.theta[-1] if self.theta.size else 0.0)
        warm[: self.theta.size] = self.theta
        self.theta, self.difficulty = fit_rasch(
            np.stack(self.history),
            self.prior_mean,
            ability_scale=self.ability_scale,
            difficulty_scale=self.difficulty_scale,
            theta=warm,
            difficulty=self.difficulty,
        )
        ability = float(self.theta[-1])
        # "Improved" is judged within this fit (earlier steps' abilities on the same scale), since a
        # refit shifts every ability a little; PUDF compares with the best ability so far.
        best_before = float(self.theta[:-1].max()) if self.theta.size > 1 else -np.inf
        if ability > best_before + IMPROVEMENT:
            self.capacity = ability
        else:
            self.capacity += self.stall_step

    def choose(self) -> int:
        eligible = np.flatnonzero(self.difficulty <= self.capacity)
        if eligible.size == 0:
            return int(np.argmin(self.difficulty))
        if self.pick == "uniform":
            return int(eligible[self.rng.integers(eligible.size)])
        return int(eligible[np.argmax(self.difficulty[eligible])])

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        self.history.append(profile_of(obs))
        if self.steps_done % self.epoch_steps == 0:
            self.estimate()
        self.steps_done += 1
        return np.int64(self.start + self.choose())
