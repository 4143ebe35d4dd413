"""The rules of the Intervention family: the teacher's moves, Saha et al.'s budgets, the family's
settings (:class:`InterventionConfig`) and the record of what is drawn when an item is shown
(:class:`ItemDraw`). The env that plays by them is :class:`teachgym.envs.intervention.InterventionEnv`;
teachers import the moves from here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from teachgym.composition import TeachingConfig
from teachgym.config import require
from teachgym.domains.base import Domain, Items
from teachgym.engines import Engine, Plan
from teachgym.numeric import logit, sigmoid
from teachgym.students.base import Student

#: The teacher's moves, in action order: ``Discrete(4)`` index -> name.
ACTIONS: tuple[str, ...] = ("none", "hint", "explain", "reveal")
NONE, HINT, EXPLAIN, REVEAL = range(len(ACTIONS))

#: Saha et al.'s budgets: the fraction of the items the teacher may intervene on.
BUDGETS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class InterventionConfig(TeachingConfig):
    """Settings of :class:`InterventionEnv`: those of every teaching env (one item per step) and the
    intervention budget, lessons and their effects.

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
    """The item on the table and everything drawn for it when it was shown."""

    items: Items  # (1, 1)
    correct: bool  # the student's own (unaided) answer is right
    confidence: float  # the student's confidence in that answer
    teacher_confidence: float
    teacher_right: bool  # the teacher's own answer (and explanation) is right
    agrees: bool  # the student's answer equals the teacher's answer
    wrong_answer: int  # the answer a wrong teacher gives
    outcome_draw: float  # uniform in [0, 1): decides whether a hint or explanation lands


def answer_right(move: int, item: ItemDraw, strength: dict[int, float]) -> bool:
    """Whether the answer that counts after ``move`` on ``item`` is right (the env's Action Space):
    ``strength`` maps ``hint`` and ``explain`` to the chance that they land."""
    if move == NONE:
        return item.correct
    if move == REVEAL:
        return item.teacher_right
    lands = item.outcome_draw < strength[move]
    return (item.correct or lands) if item.teacher_right else (item.correct and not lands)


def chance_right(move: int, item: ItemDraw, strength: dict[int, float]) -> float:
    """The chance of :func:`answer_right` before the draw that decides whether a hint or
    explanation lands."""
    a, t = float(item.correct), item.teacher_right
    if move == NONE:
        return a
    if move == REVEAL:
        return float(t)
    s = strength[move]
    return a + (1.0 - a) * s if t else a * (1.0 - s)


def draw_item(
    rng: np.random.Generator,
    engine: Engine,
    student: Student,
    domain: Domain,
    config: InterventionConfig,
    num_answers: int,
) -> ItemDraw:
    """The next item of the stream and everything drawn for it, all from ``rng`` (the episode's
    stream generator, which no teacher's choice advances): a uniformly drawn (skill, level) cell, the
    one-student ``student``'s answer and confidence, and the teacher's confidence, correctness and
    wrong answer (one of ``num_answers`` labels)."""
    num_skills, num_levels = domain.skills.num_skills, domain.skills.num_levels
    cell = int(rng.integers(num_skills * num_levels))
    counts = np.zeros((1, num_skills, num_levels), np.int64)
    counts.flat[cell] = 1
    items = engine.generate(Plan(counts), rng)
    response = student.attempt(items)
    correct = bool(domain.grade(items, response)[0, 0])
    if hasattr(student, "predict_proba"):
        # A diverged network's NaN would leave the observation space; it then knows nothing.
        confidence = float(np.nan_to_num(student.predict_proba(items)[0, 0].max(), nan=0.0))
    else:
        success = _success_probability(student, items, num_skills)
        noisy = logit(success) + config.confidence_noise * rng.standard_normal()
        confidence = float(sigmoid(noisy))
    low, high = config.teacher_confidence_low, config.teacher_confidence_high
    teacher_confidence = float(rng.uniform(low, high)) if high > low else low
    teacher_right = bool(rng.random() < teacher_confidence)
    answer = int(items.answer[0, 0])
    wrong_answer = int((answer + 1 + rng.integers(num_answers - 1)) % num_answers)
    teacher_answer = answer if teacher_right else wrong_answer
    return ItemDraw(
        items=items,
        correct=correct,
        confidence=confidence,
        teacher_confidence=teacher_confidence,
        teacher_right=teacher_right,
        agrees=bool(int(response[0, 0]) == teacher_answer),
        wrong_answer=wrong_answer,
        outcome_draw=float(rng.random()),
    )


def _success_probability(student: Any, items: Items, num_skills: int) -> float:
    """A simulated student's chance of answering the (1, 1) ``items`` right."""
    difficulty = np.full((num_skills, 1), float(items.difficulty[0, 0]))  # type: ignore[index]
    expected = student.expected_accuracy(difficulty)
    return float(expected[0, int(items.skill[0, 0]), 0])
