"""OpenEnded: the teacher writes the training data itself, as (prompt, answer) text pairs (DataEnvGym's
open-ended setting; STAT-Syn; Learn-to-Reason)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.actions import each
from teachgym.composition import TEXT_SETTINGS, TeachingConfig
from teachgym.config import require
from teachgym.domains.text import EXAMPLE_CHARSET, MAX_EXAMPLE_CHARS, TextItems, validate_example
from teachgym.engines import Plan, allocate
from teachgym.env import TeachingEnv
from teachgym.episode import EpisodeState
from teachgym.errors import InvalidActionError, UnsupportedError
from teachgym.family import Family, Lesson
from teachgym.students.members import stack_rows

ENV_CLASS = "OpenEndedEnv"

#: Variant name -> (version, keyword arguments). Budgets are steps x examples per step (at most).
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    "ArithmeticText": (
        0,
        {**TEXT_SETTINGS, "num_steps": 24, "examples_per_step": 64},
    ),
}

#: Shorter settings of each variant for smoke tests and the ``quick`` suite.
QUICK_SETTINGS: dict[str, dict[str, Any]] = {
    "ArithmeticText": {
        "domain_options": {"num_heldout": 2, "num_levels": 1},
        "num_steps": 3,
        "examples_per_step": 8,
    },
}

#: Teachers whose mean test accuracy is a score of 1: STAT's missing-skill writer (no oracle for an LM).
REFERENCES = ("weakest-skill",)
#: Benchmark suites: suite -> [(task, variant, keyword overrides)]. Not in ``quick``: its LLM teachers
#: take about a minute per step on a CPU.
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "text-v0": [("OpenEnded-ArithmeticText-v0", "ArithmeticText", {})],
}

#: Characters of the ``Text`` spaces (the domain's example charset, sorted).
CHARSET = "".join(sorted(EXAMPLE_CHARSET))


@dataclass(frozen=True)
class OpenEndedConfig(TeachingConfig):
    """Settings of :class:`OpenEnded`: those of every teaching env, and the quiz whose errors the
    teacher sees.

    Attributes:
        quiz_size: fresh training-split problems the student answers after every step (spread evenly
            over (skill, level) cells); an int in [1, 512].
        num_errors_shown: wrong quiz answers shown in the observation, at most; an int in [0, 64].
    """

    quiz_size: int = 28
    num_errors_shown: int = 8
    domain: str = TEXT_SETTINGS["domain"]
    domain_options: dict[str, Any] = field(default_factory=lambda: dict(TEXT_SETTINGS["domain_options"]))
    student: str = TEXT_SETTINGS["student"]
    student_options: dict[str, Any] = field(default_factory=lambda: dict(TEXT_SETTINGS["student_options"]))

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.engine == "procedural" and not self.engine_options,
            "OpenEnded env",
            "engine",
            self.engine,
            "no engine setting: the teacher's own examples are the training data",
        )
        require(
            1 <= self.quiz_size <= 512, "OpenEnded env", "quiz_size", self.quiz_size, "an int in [1, 512]"
        )
        require(
            0 <= self.num_errors_shown <= 64,
            "OpenEnded env",
            "num_errors_shown",
            self.num_errors_shown,
            "an int in [0, 64]",
        )


class BoundedSequence(spaces.Sequence):
    """A ``Sequence`` of at most ``max_length`` elements: ``contains`` checks the length and ``sample``
    draws lengths uniformly from 0..max_length (Gymnasium's unbounded geometric draw would exceed it)."""

    def __init__(self, feature_space: spaces.Space[Any], max_length: int) -> None:
        super().__init__(feature_space)
        self.max_length = max_length

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[Any, ...]:  # type: ignore[override]
        lengths = np.arange(self.max_length + 1)
        if probability is not None:
            probability = (lengths if probability[0] is None else probability[0], probability[1])
        else:
            mask = (lengths, None) if mask is None else (lengths if mask[0] is None else mask[0], mask[1])
        sample = super().sample(mask=mask, probability=probability)
        if len(sample) > self.max_length:
            raise ValueError(f"a length mask allowed {len(sample)} elements; max_length is {self.max_length}")
        return sample  # type: ignore[return-value]

    def contains(self, x: Any) -> bool:
        return isinstance(x, tuple) and len(x) <= self.max_length and super().contains(x)

    def __repr__(self) -> str:
        return f"BoundedSequence({self.feature_space}, max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BoundedSequence)
            and other.max_length == self.max_length
            and super().__eq__(other)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.feature_space), self.max_length))


@dataclass(frozen=True)
class WrittenExamples:
    """``n`` episodes' teacher-written examples of a step, after validation.

    Attributes:
        candidates: each episode's well-formed, not-held-out ``(prompt, answer)`` pairs (stripped).
        written: int64 ``(n,)`` pairs in each action.
        dropped: each episode's dropped examples per reason.
        counts: int64 ``(n, K, L)`` examples trained on whose prompt the domain recognises, per cell
            (None until :meth:`OpenEnded.lesson` has checked the student's context).
        checked: int64 ``(n,)`` examples trained on whose answer the domain could check.
        wrong: int64 ``(n,)`` of those, answered wrongly.
    """

    candidates: list[list[tuple[str, str]]]
    written: np.ndarray
    dropped: list[Counter[str]]
    counts: np.ndarray | None = None
    checked: np.ndarray | None = None
    wrong: np.ndarray | None = None


@dataclass(frozen=True)
class OpenEndedState:
    """The family's own state of ``n`` episodes: the last step's examples and the latest quiz."""

    last_allocation: np.ndarray  # float32 (n, K, L): share of the last step's recognised examples per cell
    errors: np.ndarray  # object (n,): each episode's shown quiz errors, a tuple of (prompt, answer) pairs
    written: np.ndarray  # int64 (n,): pairs in the last action
    dropped: list[Counter[str]]  # each episode's dropped examples of the last step, per reason
    checked: np.ndarray  # int64 (n,): answers of the last step the domain could check
    wrong: np.ndarray  # int64 (n,): of those, wrong


class OpenEnded(Family):
    """## Description

    The open-ended setting of DataEnvGym (Khan et al., 2024): the teacher writes each step's training
    data itself, as text, and sees the student's errors. A language-model student is fine-tuned on
    the examples and assessed on held-out problems by exact match of its generated answer.

    ## Action Space

    ``BoundedSequence(Tuple((Text, Text)), examples_per_step)`` (a Gymnasium ``Sequence`` whose
    ``contains`` and ``sample`` respect the length): up to ``examples_per_step`` ``(prompt, answer)`` pairs of
    ``str`` (a ``tuple`` or ``list`` of pairs). An action that is not a sequence of pairs, or has more
    than ``examples_per_step`` of them, is refused with ``InvalidActionError`` and nothing changes.
    Each pair is then checked with ``validate_example`` (non-empty ``str`` of at most 200
    characters from the domain's charset, the answer an integer or ``<``, ``>``, ``=``); invalid
    ones (including ``bytes`` or other non-``str`` values) are **dropped** and counted in ``info``,
    never trained on; so are examples longer than the student's context (``"too-long-for-student"``)
    and copies of held-out problems (``"heldout"``: a prompt that states a problem of the validation
    or test split, compared as canonical problems, ``ArithmeticTextDomain.canonical_problems``: any
    case, spacing, surrounding words such as "What is", "Compute:", "Q:", "?" or "=", operators in
    words, operands of ``+``, ``*`` and comparisons in either order, a word problem with any name
    and object or as its bare arithmetic). Valid examples are trained on as written, **wrong answers
    included**: a teacher can hurt its student. Where the domain recognises a prompt's format, the answer is
    checked and the rate of wrong ones reported.

    ## Observation Space

    ``Dict`` with ``profile`` (``(K,)``), ``level_profile`` (``(K, L)``), ``budget`` (``(1,)``
    fraction of steps left), ``last_allocation`` (``(K, L)`` share of the last step's trained
    examples per recognised (skill, level); zeros if none) and ``errors``: up to
    ``num_errors_shown`` problems the student answered wrong in a quiz of ``quiz_size`` fresh
    problems it takes after every step (and at reset), as ``(prompt, student's answer)`` text pairs.
    The quiz is drawn from the training split, spread evenly over (skill, level) cells: the teacher
    sees the student's errors (DataEnvGym's feedback) but never an evaluation item.

    ## Rewards

    The gain in mean validation accuracy over skills (``objective="mean-gain"``).

    ## Starting State

    The pre-trained student (the shipped tiny model by default), with a fresh optimizer.

    ## Episode End

    Truncated after ``num_steps`` steps. ``examples_used`` counts only the examples trained on. The
    last ``info`` carries ``test_profile``, ``test_accuracy`` and ``validation_test_gap``.

    ## Info

    Every step: ``examples_written`` (pairs in the action), ``examples_dropped`` and
    ``drop_reasons`` (reason -> count), ``examples_checked`` (answers the domain could check),
    ``wrong_answers`` and ``wrong_answer_rate`` (of the checked ones; 0 when none).

    ## Arguments

    Those of ``teachgym.composition.TeachingConfig`` (defaults: ``arithmetic-text`` domain, ``lm``
    student), ``quiz_size``, ``num_errors_shown``, and ``render_mode`` (``None`` or ``"ansi"``).

    ## Why It Matters

    When the teacher is a language model it writes the training data itself; what it writes, right or
    wrong, is what the student learns, and a held-out test catches a teacher that games the validation.

    ## References

    * Khan et al. (2024), DataEnvGym: the open-ended environment level.
    * STAT (2025): STAT-Syn synthesizes items for the missing skills.
    * Learn-to-Reason (2023): rationales written for the student's own errors.

    ## Version History

    * v0: initial version. Revised (issue 14): the held-out filter compares canonical problems
      instead of prompt strings (a reworded copy of a validation or test problem got through).
    """

    name = "OpenEnded"
    action_kind = "text"
    config_class = OpenEndedConfig
    extra_observation_keys = ("errors", "last_allocation")
    public_settings = ("quiz_size", "num_errors_shown")
    teacher_writes_data = True
    extra_info_keys = (
        "examples_written",
        "examples_dropped",
        "drop_reasons",
        "examples_checked",
        "wrong_answers",
        "wrong_answer_rate",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config: OpenEndedConfig = self.config  # type: ignore[assignment]
        pair = spaces.Tuple(
            (
                spaces.Text(MAX_EXAMPLE_CHARS, min_length=1, charset=CHARSET),
                spaces.Text(MAX_EXAMPLE_CHARS, min_length=1, charset=CHARSET),
            )
        )
        self.action_space = BoundedSequence(pair, self.examples_per_step)
        self.num_errors_shown = config.num_errors_shown
        self.quiz_size = config.quiz_size
        shape = (1, self.skills.num_skills, self.skills.num_levels)
        # The quiz's (skill, level) cells, (quiz_size,) each: the same for every quiz.
        skill, level = Plan(allocate(np.ones(shape), self.quiz_size)).cells()
        self._quiz_cells = (skill.ravel(), level.ravel())
        # Every held-out problem as its canonical form, computed once: a written example is then
        # checked in O(1), however it rewords a held-out problem. It stays in the rules, which know
        # the held-out items already; the domain's canonicalizer knows nothing of the splits. (A
        # domain without the canonicalizer is refused by check_student, once the student is built.)
        canonical = getattr(self.domain, "canonical_problems", None)
        splits = ("validation", "test") if canonical is not None else ()
        self._heldout_problems: frozenset[str] = frozenset(
            form
            for split in splits
            for prompt in self.domain.heldout(split).prompts.tolist()  # type: ignore[attr-defined]
            for form in canonical(prompt)  # type: ignore[misc]
        )

    # ------------------------------------------------------------------ set-up
    def observation_spaces(self) -> dict[str, spaces.Space[Any]]:
        shape = (self.skills.num_skills, self.skills.num_levels)
        error = spaces.Tuple(
            (
                spaces.Text(MAX_EXAMPLE_CHARS, min_length=1, charset=CHARSET),
                spaces.Text(MAX_EXAMPLE_CHARS, min_length=0, charset=CHARSET),
            )
        )
        errors = BoundedSequence(error, self.num_errors_shown)
        return {"last_allocation": spaces.Box(0.0, 1.0, shape, np.float32), "errors": errors}

    def check_student(self, student: Any) -> None:
        if not hasattr(self.domain, "canonical_problems") or not hasattr(student, "fits"):
            raise UnsupportedError(
                f"the OpenEnded family needs a text domain that parses prompts and a text student; got "
                f"domain {self.config.domain!r} and student {self.config.student!r}"
            )

    # ------------------------------------------------------------------ array functions
    def reset(self, state: EpisodeState, student: Any) -> tuple[OpenEndedState, bool]:
        n = state.size
        zeros = np.zeros(n, np.int64)
        allocation = np.zeros((n, self.skills.num_skills, self.skills.num_levels), np.float32)
        errors = self._quiz_errors(state.episode_rng, student)
        return OpenEndedState(allocation, errors, zeros, [Counter() for _ in range(n)], zeros, zeros), False

    def plan(self, state: EpisodeState, actions: Sequence[Any]) -> Lesson:
        """Check each action's shape (refusing a bad one) and drop its malformed and held-out examples;
        the student's context is checked in :meth:`lesson`, where the student is known."""
        checked = each(actions, self._candidates)
        return Lesson(
            WrittenExamples(
                candidates=[kept for kept, _, _ in checked],
                written=np.array([written for _, written, _ in checked], np.int64),
                dropped=[dropped for _, _, dropped in checked],
            )
        )

    def _candidates(self, action: Any) -> tuple[list[tuple[str, str]], int, Counter[str]]:
        """One action's well-formed, not-held-out pairs (stripped), its length and its drops per
        reason; an InvalidActionError if it is not a sequence of at most ``examples_per_step`` pairs."""
        if not isinstance(action, (tuple, list)):
            raise InvalidActionError(
                f"action is a {type(action).__name__}; expected a tuple or list of (prompt, answer) pairs"
            )
        if len(action) > self.examples_per_step:
            raise InvalidActionError(
                f"action has {len(action)} examples; expected at most "
                f"examples_per_step={self.examples_per_step}"
            )
        for index, pair in enumerate(action):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise InvalidActionError(
                    f"action[{index}] is {_short(pair)}; expected a (prompt, answer) pair of str"
                )
        dropped: Counter[str] = Counter()
        kept: list[tuple[str, str]] = []
        for prompt, answer in action:
            reason = validate_example(prompt, answer)
            if reason is not None:
                dropped[_reason_kind(reason)] += 1
                continue
            # A held-out problem is never trained on, however it was written: any problem the prompt
            # states counts, so a held-out one bundled with another is dropped too.
            if self.domain.canonical_problems(prompt) & self._heldout_problems:  # type: ignore[attr-defined]
                dropped["heldout"] += 1
                continue
            kept.append((prompt.strip(), answer.strip()))
        return kept, len(action), dropped

    def lesson(self, state: EpisodeState, lesson: Lesson, student: Any) -> Lesson:
        """The written examples that fit the student's context, as each episode's batch ``(1, M_i)``
        (stacked ``(n, M)`` where every ``M_i`` is equal), with their recognised cells and checked
        answers."""
        written: WrittenExamples = lesson.plan
        n = state.size
        counts = np.zeros((n, self.skills.num_skills, self.skills.num_levels), np.int64)
        checked, wrong = np.zeros(n, np.int64), np.zeros(n, np.int64)
        dropped, batches = [], []
        for i, candidates in enumerate(written.candidates):  # text: per episode
            drops = Counter(written.dropped[i])
            skills, levels, prompts, answers = [], [], [], []
            for prompt, answer in candidates:
                if not student.fits(prompt, answer):
                    drops["too-long-for-student"] += 1
                    continue
                parsed = self.domain.parse(prompt)  # type: ignore[attr-defined]
                skill, level = -1, -1
                if parsed is not None:
                    skill, level, truth = parsed
                    counts[i, skill, level] += 1
                    checked[i] += 1
                    wrong[i] += not bool(self.domain.grade_text([answer], [truth])[0])  # type: ignore[attr-defined]
                skills.append(skill)
                levels.append(level)
                prompts.append(prompt)
                answers.append(answer)
            dropped.append(drops)
            batches.append(
                TextItems.from_lists(
                    skill=skills,
                    level=levels,
                    code=[-1] * len(prompts),
                    prompts=prompts,
                    answers=answers,
                    expressions=[""] * len(prompts),
                ).reshape(1, len(prompts))
            )
        # Episodes whose batches differ in size keep them apart; the loop trains equal sizes together.
        batch = stack_rows(batches) if len({len(b) for b in batches}) == 1 else batches
        record = WrittenExamples(written.candidates, written.written, dropped, counts, checked, wrong)
        return Lesson(plan=record, batch=batch)

    def update(self, state: EpisodeState, lesson: Lesson, answers: Any, student: Any) -> OpenEndedState:
        written: WrittenExamples = lesson.plan
        counts = written.counts
        assert counts is not None and written.checked is not None and written.wrong is not None
        total = counts.sum(axis=(1, 2), keepdims=True)
        allocation = (counts / np.maximum(total, 1)).astype(np.float32)
        errors = self._quiz_errors(state.episode_rng, student)
        return OpenEndedState(
            allocation, errors, written.written, written.dropped, written.checked, written.wrong
        )

    def _quiz_errors(self, rngs: Sequence[np.random.Generator], student: Any) -> np.ndarray:
        """Each episode's wrong answers to a fresh quiz from the training split (drawn from its own
        generator, seeded at reset), at most ``num_errors_shown`` of them: an object ``(n,)`` array of
        tuples of ``(prompt, answer)`` pairs."""
        skill, level = self._quiz_cells
        quizzes = [self.domain.generate(skill, level, rng).reshape(1, len(skill)) for rng in rngs]  # type: ignore[attr-defined]
        quiz = stack_rows(quizzes)
        responses = student.attempt(quiz)  # (n, quiz_size): every member answers its own quiz
        correct = self.domain.grade(quiz, responses)
        errors = np.empty(len(rngs), dtype=object)
        for i, rng in enumerate(rngs):  # per episode: the shown subset is drawn from its own generator
            wrong = np.flatnonzero(~correct[i])
            if len(wrong) > self.num_errors_shown:
                wrong = np.sort(rng.choice(wrong, self.num_errors_shown, replace=False))
            errors[i] = tuple((str(quiz.prompts[i, j]), _as_text(responses[i, j])) for j in wrong.tolist())
        return errors

    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        family: OpenEndedState = state.family
        return {"last_allocation": family.last_allocation.copy(), "errors": family.errors.copy()}

    def info(self, state: EpisodeState) -> dict[str, Any]:
        family: OpenEndedState = state.family
        checked, wrong = family.checked, family.wrong
        return {
            "examples_written": family.written.copy(),
            "examples_dropped": np.array([sum(d.values()) for d in family.dropped], np.int64),
            "drop_reasons": [dict(sorted(d.items())) for d in family.dropped],
            "examples_checked": checked.copy(),
            "wrong_answers": wrong.copy(),
            "wrong_answer_rate": np.where(checked > 0, wrong / np.maximum(checked, 1), 0.0),
        }


class OpenEndedEnv(TeachingEnv):
    """The OpenEnded family as a Gymnasium env (see :class:`OpenEnded`)."""

    FAMILY = OpenEnded


def _reason_kind(reason: str) -> str:
    """A short key for a drop reason (``"prompt is empty"`` -> ``"prompt-empty"``)."""
    field_name = reason.split(" ", 1)[0]
    for key, words in (
        ("type", "expected a str"),
        ("empty", "is empty"),
        ("too-long", "more than"),
        ("charset", "outside the charset"),
    ):
        if words in reason:
            return f"{field_name}-{key}"
    return "answer-format"


def _as_text(response: object) -> str:
    """A student's answer as it fits the ``errors`` Text space: charset characters only, clipped."""
    text = response if isinstance(response, str) else ""
    return "".join(c for c in text if c in EXAMPLE_CHARSET)[:MAX_EXAMPLE_CHARS]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
