"""Intervention teachers: when (and how) to step in on a stream of items under a budget (Saha et al.
2023, "Can Language Models Teach Weaker Agents?"; MathDial, Macina et al. 2023).

Every teacher here acts on the Intervention observation (``confidence``, ``teacher_confidence``,
``agrees_with_teacher``, ``interventions_left``, ``budget``, ``action_mask``) and never asks for a move
that ``action_mask`` forbids, so it spends at most the budget. Budgeted strategies that rank items
(Saha et al. rank a fixed test set and intervene on the top ``budget`` fraction) meet a stream here:
they intervene when the item's score is in the top ``r`` of the scores seen so far in the episode,
``r`` being the interventions left over the items left (a running quantile threshold), so the spend
tracks the budget. :func:`budget_curve` measures a teacher at Saha et al.'s budgets 0, 0.2, ..., 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, make, register
from teachgym.config import check_choice, check_int, check_real
from teachgym.envs.intervention_rules import ACTIONS, BUDGETS, NONE
from teachgym.numeric import logit, sigmoid
from teachgym.task import PrivilegedView, TaskDescription

SAHA = "Saha et al. 2023, Can Language Models Teach Weaker Agents?"
#: The moves a budgeted teacher may spend its interventions on.
HELPING_MOVES = ACTIONS[1:]


def budget_counts(obs: Observation, num_steps: int, num_interventions: int) -> tuple[int, int]:
    """``(interventions left, items left including the current one)`` from an observation."""
    items_left = max(1, round(float(obs["budget"][0]) * num_steps))
    left = round(float(obs["interventions_left"][0]) * num_interventions)
    return left, items_left


class _BudgetedTeacher(BaseTeacher):
    """Shared plumbing: the episode's size, the move to spend on, and the action mask."""

    def __init__(self, task: TaskDescription, name: str, move: str = "explain") -> None:
        move = check_choice(f"teacher {name!r}", "move", move, HELPING_MOVES)
        self.move = ACTIONS.index(move)
        self.num_steps = task.num_steps
        self.num_interventions = int(task.settings["num_interventions"])

    def rate(self, obs: Observation) -> float:
        """Interventions left per item left, this one included (at least 1 when every remaining
        item can be helped)."""
        left, items_left = budget_counts(obs, self.num_steps, self.num_interventions)
        return left / items_left

    def spend(self, obs: Observation, intervene: bool) -> np.int64:
        """``self.move`` if ``intervene`` and the mask allows it, else ``none``."""
        return np.int64(self.move if intervene and obs["action_mask"][self.move] else NONE)


class _RankingTeacher(_BudgetedTeacher):
    """Intervenes when the item's score ranks in the top ``rate`` of the episode's scores so far
    (mid-rank for ties; the current item counts), or on every item once ``rate`` reaches 1."""

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.scores: list[float] = []

    def score(self, obs: Observation) -> float:
        raise NotImplementedError

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        score = self.score(obs)
        self.scores.append(score)
        return self.spend(obs, self.ranks_high(score, self.rate(obs)))

    def ranks_high(self, score: float, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        history = np.asarray(self.scores)
        ties = np.count_nonzero(history == score) - 1  # the current item ties with itself
        below = (np.count_nonzero(history < score) + 0.5 * ties) / len(history)
        return bool(below >= 1.0 - rate)


@register(
    "never",
    kinds=("intervention",),
    paper=f"no-intervention baseline ({SAHA})",
    summary="never intervenes: the student answers every item alone",
)
class NeverTeacher(BaseTeacher):
    """Always ``none`` (Saha et al.'s budget 0). No knobs."""

    def __init__(self, task: TaskDescription) -> None:
        pass

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        return np.int64(NONE)


@register(
    "always-explain",
    kinds=("intervention",),
    paper=f"intervene-first baseline ({SAHA})",
    summary="explains every item while interventions are left (spends the budget on the first items)",
)
class AlwaysExplainTeacher(_BudgetedTeacher):
    """Explains every item until the budget is spent, then ``none``. No knobs."""

    def __init__(self, task: TaskDescription) -> None:
        super().__init__(task, "always-explain")

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        return self.spend(obs, True)


@register(
    "reveal-always",
    kinds=("intervention",),
    paper="the telling trap of LLM tutors (MathDial, Macina et al. 2023)",
    summary="reveals the answer on every item while interventions are left: right now, little learned",
)
class RevealAlwaysTeacher(_BudgetedTeacher):
    """Reveals the answer on every item until the budget is spent, then ``none``. No knobs."""

    def __init__(self, task: TaskDescription) -> None:
        super().__init__(task, "reveal-always", "reveal")

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        return self.spend(obs, True)


@register(
    "random",
    kinds=("intervention",),
    paper=f"random intervention at a budget ({SAHA})",
    summary="intervenes on a uniformly random subset of budget_fraction of the items",
)
class RandomInterveneTeacher(_BudgetedTeacher):
    """Saha et al.'s random strategy on a stream: intervenes on each item with probability
    (interventions left) / (items left), i.e. sequential random sampling, which spends exactly the
    budget and gives every item the same chance, ``budget_fraction``.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, move: str = "explain") -> None:
        super().__init__(task, "random", move)

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        draw = self.rng.random()  # drawn every step, so the stream of draws never depends on the mask
        return self.spend(obs, draw < self.rate(obs))


@register(
    "uniform",
    kinds=("intervention",),
    paper=f"the budget spaced evenly over the stream (the other families' uniform; {SAHA}'s budgets)",
    summary="explains evenly spaced items: every 1/budget_fraction-th item, blind to the student",
)
class UniformInterveneTeacher(_BudgetedTeacher):
    """Spreads the budget evenly over the stream: with ``n`` interventions in ``N`` items it explains
    item ``t`` (counting from 0) when ``floor((t + 1) n / N) > floor(t n / N)``, so every stretch of
    ``N / n`` items gets one explanation. Like ``uniform`` in the allocation families it is blind to
    the student; unlike ``random`` it never bunches the budget. No knobs besides ``move``.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, move: str = "explain") -> None:
        super().__init__(task, "uniform", move)

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        _, items_left = budget_counts(obs, self.num_steps, self.num_interventions)
        t, n, total = self.num_steps - items_left, self.num_interventions, self.num_steps
        return self.spend(obs, (t + 1) * n // total > t * n // total)


@register(
    "correct-errors",
    kinds=("intervention",),
    paper="error-flagging feedback: explain where the student looks wrong (the immediate feedback of "
    "model-tracing tutors, Anderson et al. 1995; the naive baseline of this family)",
    summary="explains the items the teacher believes the student got wrong, surest first",
)
class CorrectErrorsTeacher(_RankingTeacher):
    """The naive tutor: step in where the student seems to have made a mistake. The score of an
    item is the teacher's belief that the student's answer is wrong: its confidence ``c`` in its own
    answer when the two disagree, ``1 - c`` when they agree (the student is then wrong only if the
    teacher is). Within the budget it explains the items whose score ranks highest (the running
    quantile of the module docstring); it learns nothing about the student.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, move: str = "explain") -> None:
        super().__init__(task, "correct-errors", move)

    def score(self, obs: Observation) -> float:
        confidence = float(obs["teacher_confidence"][0])
        return 1.0 - confidence if obs["agrees_with_teacher"][0] > 0.5 else confidence


@register(
    "least-confident",
    kinds=("intervention",),
    paper=f"least student confidence ({SAHA})",
    summary="explains the items where the student's confidence is lowest (running quantile)",
)
class LeastConfidentTeacher(_RankingTeacher):
    """Scores each item by minus the student's confidence in its answer: explains where the student
    is least sure, within the budget.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, move: str = "explain") -> None:
        super().__init__(task, "least-confident", move)

    def score(self, obs: Observation) -> float:
        return -float(obs["confidence"][0])


@register(
    "teacher-confidence",
    kinds=("intervention",),
    paper=f"teacher confidence ({SAHA})",
    summary="explains the items where the teacher is most confident of its own answer",
)
class TeacherConfidenceTeacher(_RankingTeacher):
    """Scores each item by the teacher's confidence in its own answer (and so in its explanation).

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, move: str = "explain") -> None:
        super().__init__(task, "teacher-confidence", move)

    def score(self, obs: Observation) -> float:
        return float(obs["teacher_confidence"][0])


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float, iterations: int = 25) -> np.ndarray:
    """Ridge-penalized logistic regression by Newton's method (IRLS): weights ``(D,)`` maximizing
    ``sum log-likelihood - l2 / 2 * |w[1:]|^2`` (column 0, the intercept, is not penalized)."""
    num_features = features.shape[1]
    penalty = np.full(num_features, l2)
    penalty[0] = 1e-6  # keeps the Newton system solvable when every label is the same
    weights = np.zeros(num_features)
    for _ in range(iterations):
        p = sigmoid(features @ weights)
        gradient = features.T @ (labels - p) - penalty * weights
        hessian = (features.T * (p * (1.0 - p))) @ features + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        weights = weights + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return weights


@register(
    "mental-model",
    kinds=("intervention",),
    paper=f"expected-utility intervention with a few-shot mental model of the student ({SAHA})",
    summary="learns P(correct | explain) and P(correct | none) online; explains where the gain is highest",
)
class MentalModelTeacher(_RankingTeacher):
    """Saha et al.'s Theory-of-Mind intervention function. The teacher keeps two mental models of
    this student, both learned from this episode's own history (the outcome ``current_correct`` of
    every item it has seen): one of the student answering alone, one of the student after the
    teacher's move. Each is a ridge logistic regression of correctness on a few features of the
    item: ``lc``, the logit of the student's confidence, ``j``, the teacher's judgement
    ``agrees_with_teacher``, and ``js = (2 j - 1) * logit(teacher_confidence)``, the teacher's
    judgement signed and weighted by its confidence. The model of the student alone reads
    ``[1, lc, js]`` (for calibrated confidences, the log-odds that the student is right are
    ``lc + js`` by Bayes' rule); the model after the move reads ``[1, lc, js, j, j * lc, j * js]``,
    separate log-odds for answers the teacher agrees with (where a move changes little) and answers
    it disputes (where a move helps exactly when the teacher is the one who is right). The expected
    utility of an item is ``P(correct | move) - P(correct | none)``, and the budget goes to the items
    where it is highest (running quantile, see the module docstring).

    Until each model has seen ``num_shots`` items (Saha et al. prompt their mental models with a few
    demonstrations of each kind), the teacher intervenes at random at the budget's rate
    (``random``), which also gathers those demonstrations.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
        num_shots: demonstrations of each model before it is used, int in [1, 1000].
        l2: ridge penalty of both regressions, > 0.
        min_utility: never intervene where the estimated utility is at or below this (default
            ``-1``: every item may be chosen, as in Saha et al., who spend the whole budget).
    """

    def __init__(
        self,
        task: TaskDescription,
        *,
        move: str = "explain",
        num_shots: int = 4,
        l2: float = 1.0,
        min_utility: float = -1.0,
    ) -> None:
        owner = "teacher 'mental-model'"
        super().__init__(task, "mental-model", move)
        self.num_shots = check_int(owner, "num_shots", num_shots, 1, 1000)
        self.l2 = check_real(owner, "l2", l2, 0.0, 1e6, low_open=True)
        self.min_utility = check_real(owner, "min_utility", min_utility, -1.0, 1.0)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        #: Demonstrations of each model: the observations of the items and whether the answer that
        #: counted was right, for items left alone (False) and items intervened on (True).
        self.history: dict[bool, tuple[list[Observation], list[float]]] = {False: ([], []), True: ([], [])}
        self._pending: tuple[Observation, bool] | None = None

    @staticmethod
    def features(obs: Observation, intervened: bool) -> np.ndarray:
        """The features of the item on the table for the model of the student alone
        (``intervened`` False: ``[1, lc, js]``) or after the move (True:
        ``[1, lc, js, j, j * lc, j * js]``)."""
        lc = logit(float(obs["confidence"][0]), eps=1e-4)
        j = float(obs["agrees_with_teacher"][0] > 0.5)
        js = (2.0 * j - 1.0) * logit(float(obs["teacher_confidence"][0]), eps=1e-4)
        if not intervened:
            return np.array([1.0, lc, js])
        return np.array([1.0, lc, js, j, j * lc, j * js])

    def predict(self, obs: Observation) -> tuple[float, float] | None:
        """``(P(correct | none), P(correct | move))`` for the item on the table, or None while either
        model has fewer than ``num_shots`` demonstrations."""
        probabilities = []
        for intervened in (False, True):
            observations, labels = self.history[intervened]
            if len(labels) < self.num_shots:
                return None
            features = np.stack([self.features(seen, intervened) for seen in observations])
            weights = fit_logistic(features, np.asarray(labels), self.l2)
            probabilities.append(float(sigmoid(self.features(obs, intervened) @ weights)))
        return probabilities[0], probabilities[1]

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        draw = self.rng.random()  # drawn every step: the warm-up's random choice
        prediction = self.predict(obs)
        if prediction is None:
            action = self.spend(obs, draw < self.rate(obs))
        else:
            utility = prediction[1] - prediction[0]
            self.scores.append(utility)
            intervene = utility > self.min_utility and self.ranks_high(utility, self.rate(obs))
            action = self.spend(obs, intervene)
        self._pending = ({key: value.copy() for key, value in obs.items()}, bool(action != NONE))
        return action

    def observe(
        self, obs: Observation, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> None:
        if self._pending is None or "current_correct" not in info:
            return
        seen, intervened = self._pending
        observations, labels = self.history[intervened]
        observations.append(seen)
        labels.append(float(info["current_correct"]))
        self._pending = None


@register(
    "oracle-utility",
    kinds=("intervention",),
    paper=f"the oracle intervention of {SAHA}",
    summary="intervenes where the true utility is positive (student wrong, teacher right); reference only",
    reference=True,
    privileged=("success",),
)
class OracleUtilityTeacher(_BudgetedTeacher):
    """Reads the true chance of a right answer after each move for the item on the table
    (the declared hidden state ``view["success"]()``: it knows whether the student's answer and the
    teacher's are right) and intervenes, while the budget lasts, wherever the true utility
    ``P(correct | move) - P(correct | none)`` is positive: Saha et al.'s oracle, which explains
    exactly the items the student gets wrong. A reference, never a ranked entry.

    Args:
        move: ``"explain"`` (default), ``"hint"`` or ``"reveal"``.
    """

    def __init__(self, task: TaskDescription, *, view: PrivilegedView, move: str = "explain") -> None:
        super().__init__(task, "oracle-utility", move)
        self.success = view["success"]

    def act(self, obs: Observation, info: dict[str, Any]) -> np.int64:
        success = self.success()
        return self.spend(obs, bool(success[self.move] > success[NONE]))


def episode_metrics(env: gym.Env[Any, Any], teacher: Any, seed: int) -> dict[str, float]:
    """One episode of ``teacher`` on an Intervention ``env`` from ``seed``, summarized:

    - ``return``: the episode's return.
    - ``current_accuracy``: fraction of the stream's items answered right (after the moves).
    - ``learned``: validation mean accuracy gained over the episode (the held-out future items).
    - ``test_gain``: the same on the hidden test split.
    - ``interventions``: interventions used; ``helped_now``, ``misled``: see the env's ``info``.
    """
    from teachgym.rollout import run_episode

    last: dict[str, Any] = {}
    result = run_episode(env, teacher, seed, on_step=lambda action, obs, reward, info: last.update(info))
    num_steps = env.unwrapped.num_steps  # type: ignore[attr-defined]
    return {
        "return": result.episode_return,
        "current_accuracy": last["num_correct"] / num_steps,
        "learned": float(last["learned"]),
        "test_gain": result.test_accuracy - result.initial_test_accuracy,
        "interventions": float(last["interventions_used"]),
        "helped_now": float(last["helped_now"]),
        "misled": float(last["misled"]),
    }


def budget_curve(
    env_id: str,
    teacher: str,
    budgets: Iterable[float] = BUDGETS,
    seeds: Iterable[int] = range(20),
    **options: Any,
) -> list[dict[str, float]]:
    """Saha et al.'s results as curves over the budget: for each ``budget_fraction`` in ``budgets``,
    the means over ``seeds`` of :func:`episode_metrics` for teacher ``teacher`` (built with
    ``options``) on ``env_id``. One dict per budget, with its ``budget``."""
    seeds = list(seeds)
    rows = []
    for budget in budgets:
        env = gym.make(env_id, budget_fraction=float(budget))
        policy = make(teacher, env, **options)
        runs = [episode_metrics(env, policy, seed) for seed in seeds]
        row = {"budget": float(budget)}
        row.update({key: float(np.mean([run[key] for run in runs])) for key in runs[0]})
        rows.append(row)
    return rows
