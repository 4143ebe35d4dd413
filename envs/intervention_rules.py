"""The rules of the Intervention family: the teacher's moves, Saha et al.'s budgets, the family's
settings (:class:`InterventionConfig`) and the record of what is drawn when an item is shown
(:class:`ItemDraw`), batched over ``n`` episodes. The family that plays by them is
:class:`teachgym.envs.intervention.Intervention`; teachers import the moves from here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import numpy as np

from teachgym.composition import TeachingConfig
from teachgym.config import require
from teachgym.domains.base import Domain, Items
from teachgym.engines import Engine, Plan
from teachgym.numeric import logit, sigmoid
from teachgym.skills import Profile
from teachgym.students.members import stack_rows

#: The teacher's moves, in action order: ``Discrete(4)`` index -> name.
ACTIONS: tuple[str, ...] = ("none", "hint", "explain", "reveal")
NONE, HINT, EXPLAIN, REVEAL = range(len(ACTIONS))

#: Saha et al.'s budgets: the fraction of the items the teacher may intervene on.
BUDGETS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class InterventionConfig(TeachingConfig):
    """Settings of the Intervention family (:class:`InterventionEnv`): those of every teaching env
    (one item per step) and the intervention budget, lessons and their effects.

    Attributes:
        num_steps: items in the stream (one per step).
        examples_per_step: items shown per step; must be 1.
        budget_fraction: fraction of the items the teacher may intervene on, in [0, 1] (Saha et al.
            use 0, 0.2, ..., 1.0). The episode's interventions are ``floor(budget_fraction *
            num_steps)``.
        intervention_cost: reward charged per intervention, in units of one item answered
            correctly (the reward divides both by ``num_steps``), >= 0.
        explain_examples, hint_examples, reveal_examples: size of the lesson each move leaves, in
            training examples of the item's (skill, level): the item itself with its answer, then
            fresh items of that cell (0 = nothing is learned).
        confirm_examples: the largest lesson a move leaves when the student's own answer was
            already right: there is no impasse to repair, so the move only confirms the item
            (tutoring teaches at impasses, VanLehn et al. 2003).
        explain_strength, hint_strength: chance that a correct explanation (hint) turns a wrong
            answer into the right one, and that a wrong one turns a right answer wrong, in [0, 1].
        teacher_confidence_low, teacher_confidence_high: the teacher's confidence in its own
            answer to an item is drawn uniformly from this interval (within [0.5, 1]); its answer
            and explanation are right with exactly that probability.
        confidence_noise: standard deviation (logits) of a simulated student's self-estimate of its
            success probability around the true one; neural students report their own largest
            predicted probability instead.
        warmup_examples: examples (uniform over cells) the student learns from at reset, before the
            first item and the initial assessment (a weak student rather than a blank one).
    """

    num_steps: int = 60
    examples_per_step: int = 1
    budget_fraction: float = 0.4
    intervention_cost: float = 0.1
    explain_examples: int = 8
    hint_examples: int = 2
    reveal_examples: int = 0
    confirm_examples: int = 1
    explain_strength: float = 0.6
    hint_strength: float = 0.3
    teacher_confidence_low: float = 0.5
    teacher_confidence_high: float = 1.0
    confidence_noise: float = 0.5
    warmup_examples: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "Intervention env"
        require(self.examples_per_step == 1, owner, "examples_per_step", self.examples_per_step, "1")
        for name in ("budget_fraction", "explain_strength", "hint_strength"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, owner, name, value, "a number in [0, 1]")
        require(
            0.0 <= self.intervention_cost <= 100.0,
            owner,
            "intervention_cost",
            self.intervention_cost,
            "a number in [0, 100]",
        )
        for name in (
            "explain_examples",
            "hint_examples",
            "reveal_examples",
            "confirm_examples",
            "warmup_examples",
        ):
            value = getattr(self, name)
            require(0 <= value <= 10_000, owner, name, value, "an int in [0, 10000]")
        require(
            0.5 <= self.teacher_confidence_low <= self.teacher_confidence_high <= 1.0,
            owner,
            "teacher_confidence_low",
            (self.teacher_confidence_low, self.teacher_confidence_high),
            "0.5 <= teacher_confidence_low <= teacher_confidence_high <= 1",
        )
        require(
            0.0 <= self.confidence_noise <= 10.0,
            owner,
            "confidence_noise",
            self.confidence_noise,
            "a number in [0, 10] logits",
        )

    @property
    def num_interventions(self) -> int:
        """Interventions allowed in one episode: ``floor(budget_fraction * num_steps)``."""
        return math.floor(self.budget_fraction * self.num_steps + 1e-9)


@dataclass(frozen=True)
class ItemDraw:
    """The items on the tables of ``n`` episodes and everything drawn for them when they were shown:
    arrays with a leading episode dimension ``n``."""

    items: Items  # (n, 1)
    shown: np.ndarray  # bool (n,): an item is on the table (False after the episode's last step)
    correct: np.ndarray  # bool (n,): the student's own (unaided) answer is right
    confidence: np.ndarray  # float64 (n,): the student's confidence in that answer
    teacher_confidence: np.ndarray  # float64 (n,)
    teacher_right: np.ndarray  # bool (n,): the teacher's own answer (and explanation) is right
    agrees: np.ndarray  # bool (n,): the student's answer equals the teacher's answer
    wrong_answer: np.ndarray  # int64 (n,): the answer a wrong teacher gives
    outcome_draw: np.ndarray  # float64 (n,) uniform in [0, 1): decides whether a hint or explanation lands

    def put(self, rows: np.ndarray, sub: ItemDraw) -> ItemDraw:
        """These draws with the episodes ``rows`` replaced by ``sub``'s (a new record)."""
        return _put(self, rows, sub)  # type: ignore[no-any-return]


def _put(value: Any, rows: np.ndarray, sub: Any) -> Any:
    if value is None:
        return None
    if is_dataclass(value):
        parts = {f.name: _put(getattr(value, f.name), rows, getattr(sub, f.name)) for f in fields(value)}
        return replace(value, **parts)  # type: ignore[type-var]
    out = value.copy()
    out[rows] = sub
    return out


def strengths(config: InterventionConfig) -> np.ndarray:
    """float64 ``(4,)``: the chance that each move's hint or explanation lands (0 for the others)."""
    strength = np.zeros(len(ACTIONS))
    strength[HINT], strength[EXPLAIN] = config.hint_strength, config.explain_strength
    return strength


def answer_right(move: np.ndarray, item: ItemDraw, strength: np.ndarray) -> np.ndarray:
    """bool ``(n,)``: whether the answer that counts after each episode's ``move`` (int ``(n,)``) on its
    item is right (the env's Action Space); ``strength`` is :func:`strengths`."""
    a, t = item.correct, item.teacher_right
    lands = item.outcome_draw < strength[move]
    helped = np.where(t, a | lands, a & ~lands)
    return np.where(move == NONE, a, np.where(move == REVEAL, t, helped))


def chance_right(item: ItemDraw, strength: np.ndarray) -> np.ndarray:
    """float64 ``(n, 4)``: the chance of :func:`answer_right` after each move, before the draw that
    decides whether a hint or explanation lands."""
    a, t = item.correct.astype(np.float64), item.teacher_right

    def landing(s: float) -> np.ndarray:
        return np.where(t, a + (1.0 - a) * s, a * (1.0 - s))

    return np.stack([a, landing(strength[HINT]), landing(strength[EXPLAIN]), t.astype(np.float64)], axis=-1)


def draw_items(
    rngs: Sequence[np.random.Generator],
    engine: Engine,
    student: Any,
    domain: Domain,
    config: InterventionConfig,
    num_answers: int,
) -> ItemDraw:
    """The next item of each of ``n`` streams and everything drawn for it, all from the stream's
    generator ``rngs[j]`` (which no teacher's choice advances): a uniformly drawn (skill, level)
    cell, the answer and confidence of member ``j`` of the ``n``-member ``student``, and the
    teacher's confidence, correctness and wrong answer (one of ``num_answers`` labels). Each stream
    draws in the same order as when it is alone; the student answers all ``n`` items in one call."""
    num_skills, num_levels = domain.skills.num_skills, domain.skills.num_levels
    batches = []
    for rng in rngs:
        cell = int(rng.integers(num_skills * num_levels))
        counts = np.zeros((1, num_skills, num_levels), np.int64)
        counts.flat[cell] = 1
        batches.append(engine.generate(Plan(counts), rng))
    items: Items = stack_rows(batches)
    response = student.attempt(items)  # (n, 1)
    correct = domain.grade(items, response)[:, 0].astype(bool)
    neural = hasattr(student, "predict_proba")
    if neural:
        # A diverged network's NaN would leave the observation space; it then knows nothing.
        confidence = np.nan_to_num(student.predict_proba(items)[:, 0].max(axis=-1), nan=0.0)
    else:
        success = _success_probabilities(student, items, num_skills)
    low, high = config.teacher_confidence_low, config.teacher_confidence_high
    student_confidence, teacher_confidence, teacher_right, wrong_answer, outcome = [], [], [], [], []
    for j, rng in enumerate(rngs):  # the rest of each stream's draws, in its own order
        if neural:
            student_confidence.append(float(confidence[j]))
        else:
            noisy = logit(float(success[j])) + config.confidence_noise * rng.standard_normal()
            student_confidence.append(float(sigmoid(noisy)))
        teacher_confidence.append(float(rng.uniform(low, high)) if high > low else low)
        teacher_right.append(bool(rng.random() < teacher_confidence[-1]))
        answer = int(items.answer[j, 0])
        wrong_answer.append(int((answer + 1 + rng.integers(num_answers - 1)) % num_answers))
        outcome.append(float(rng.random()))
    right = np.array(teacher_right, bool)
    teacher_answer = np.where(right, items.answer[:, 0], wrong_answer)
    return ItemDraw(
        items=items,
        shown=np.ones(len(rngs), bool),
        correct=correct,
        confidence=np.array(student_confidence, np.float64),
        teacher_confidence=np.array(teacher_confidence, np.float64),
        teacher_right=right,
        agrees=response[:, 0].astype(np.int64) == teacher_answer,
        wrong_answer=np.array(wrong_answer, np.int64),
        outcome_draw=np.array(outcome, np.float64),
    )


def _success_probabilities(student: Any, items: Items, num_skills: int) -> np.ndarray:
    """float64 ``(n,)``: each simulated member ``j``'s chance of answering item ``j`` of the ``(n, 1)``
    ``items`` right."""
    rows = np.arange(items.skill.shape[0])
    # Column j holds item j's difficulty for every skill: member j's row of column j is its chance.
    difficulty = np.tile(np.asarray(items.difficulty, np.float64)[:, 0], (num_skills, 1))  # (K, n)
    expected = student.expected_accuracy(difficulty)  # (n, K, n)
    return np.asarray(expected[rows, items.skill[:, 0], rows], np.float64)


@dataclass(frozen=True)
class InterventionState:
    """The family's own state of ``n`` episodes."""

    stream_rng: list[np.random.Generator]  # each episode's stream of items (see Intervention.reset)
    item: ItemDraw  # the item on each table and what was drawn with it
    interventions_used: np.ndarray  # int64 (n,)
    num_correct: np.ndarray  # int64 (n,): items whose answer that counts was right
    helped_now: np.ndarray  # int64 (n,): items an intervention turned from wrong to right
    misled: np.ndarray  # int64 (n,): items an intervention turned from right to wrong
    heldout_gain: np.ndarray  # float64 (n,): the objective's values summed over the steps
    intervention: list[str]  # the last step's move ("" after reset)
    current_correct: np.ndarray  # bool (n,): the last step's answer that counts was right
    cost: np.ndarray  # float64 (n,): the last step's intervention cost


@dataclass(frozen=True)
class Moves:
    """A step's plan: the moves and what the loop's state was before it (for the held-out gain)."""

    move: np.ndarray  # int64 (n,)
    right: np.ndarray  # bool (n,): the answer that counts is right
    previous: Profile  # the validation profile before the step
    compute_used: np.ndarray  # int64 (n,): the student's compute before the step
