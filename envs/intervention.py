"""Intervention: a stream of items; for each one the teacher decides whether and how to step in
(Saha et al. 2023, "Can Language Models Teach Weaker Agents?"; MathDial, Macina et al. 2023)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.actions import as_discrete
from teachgym.bench.effects import Effect
from teachgym.config import parse_config
from teachgym.domains.base import Items
from teachgym.engines import Plan, allocate
from teachgym.env import Lesson, TeachingEnv
from teachgym.envs.intervention_rules import (  # noqa: F401  (the moves, re-exported for users of the env)
    ACTIONS,
    BUDGETS,
    EXPLAIN,
    HINT,
    NONE,
    REVEAL,
    InterventionConfig,
    ItemDraw,
    answer_right,
    chance_right,
    draw_item,
)
from teachgym.errors import EpisodeStateError, InvalidActionError, UnsupportedError
from teachgym.objectives import Cost
from teachgym.skills import Profile

ENV_CLASS = "InterventionEnv"

#: ``SimulatedStudent`` options of the ``Sim`` variant. A wider zone of proximal development than the
#: data-allocation families use (3 logits, not 1): the student is taught through worked explanations
#: of the items it fails, often 1-3 logits beyond it, where unexplained practice would teach
#: nothing. Time runs in items, and ``forgetting_scale`` = 10 makes ten items the time scale of the
#: power law (as in the Tutor family): a trace keeps (1 + t/10)^-0.2 of its gain, 80% after 20 items.
SIM_LEARNER: dict[str, Any] = {"zpd_width": 3.0, "forgetting_scale": 10.0}

#: Variant name -> (version, keyword arguments). One item per step. ``Sim`` holds 60 validation and 60
#: test items per (skill, level) (1440 per split), so that one assessment's sampled answers move its
#: mean accuracy by only about 0.013 (one standard deviation).
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    "Sim": (
        0,
        {
            "domain": "sim",
            "student": "simulated",
            "domain_options": {"num_heldout": 60},
            "student_options": SIM_LEARNER,
            "num_steps": 60,
            "examples_per_step": 1,
        },
    ),
    "Synthetic": (
        0,
        {
            "domain": "synthetic",
            "student": "mlp",
            # An explanation (64 examples) is 2 passes of 4 minibatches: eight small Adam steps. At
            # the MLP's default rate of 0.01 (or 0.005), single-skill steps on this domain's
            # conflicting skills undo more on the other skills than they teach.
            "student_options": {"learning_rate": 0.003, "minibatch_size": 16},
            "num_steps": 60,
            "examples_per_step": 1,
            # A weak student, not a blank one: its confidence means something from the first item.
            "warmup_examples": 128,
            "explain_examples": 64,
        },
    ),
}

#: Teachers whose mean test accuracy is a score of 1: Saha et al.'s oracle intervention.
REFERENCES = ("oracle-utility",)
#: The naive baseline that must beat ``random`` (Saha et al.'s random intervention, the zero anchor):
#: explain where the student looks wrong.
BASELINE = "correct-errors"
#: Benchmark suites: suite -> [(task, variant, keyword overrides)].
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "quick": [("Intervention-Sim-v0", "Sim", {})],
    "core-v1": [("Intervention-Sim-v0", "Sim", {})],
    "candidates-v2": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
    "candidates-v1": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
    "core-v0": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
}
#: Pre-registered effects: each paper's own contrast, declared as data before it is run; computed
#: by ``teachgym effects DIR`` and reported whatever it shows (teachgym.bench.effects).
EFFECTS: tuple[Effect, ...] = (
    Effect(
        name="expected-utility-beats-random-intervention",
        paper="Saha et al. 2023, Can Language Models Teach Weaker Agents?",
        task="Intervention-Sim-v0",
        teacher="mental-model",
        baseline="random",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(60)),
        note=(
            "Intervening where a mental model of the student expects the most utility beats random "
            "intervention at the same budget."
        ),
    ),
)


class InterventionEnv(TeachingEnv):
    """## Description

    The teaching setting of Saha et al. (2023), "Can Language Models Teach Weaker Agents? Teacher
    Explanations Improve Students via Personalization": items arrive one per step; the student
    attempts each, and the teacher, who may intervene on only a fraction of the items (the
    communication budget), decides whether and how to step in. Explanations help the student on the
    item at hand and also teach, so later unexplained items of the same skill go better (Saha et
    al.'s multi-turn finding); a wrong explanation misleads. Revealing the answer solves the item
    now but teaches nothing by default: the telling-versus-teaching trade-off that MathDial (Macina
    et al. 2023) found LLM tutors get wrong. Hints lie in between.

    Each item is of a skill and level drawn uniformly, generated by the engine (so never a held-out
    item). When it is shown, the env draws (from the episode's stream generator, whatever the
    teacher does, so every teacher faces the same items on a seed): the student's answer (sampled
    for the simulated student, its argmax for a neural one), the student's confidence, the
    teacher's confidence ``c`` in its own answer (uniform in ``[teacher_confidence_low,
    teacher_confidence_high]``), whether the teacher's answer is right (with probability ``c``;
    its explanation is right exactly when its answer is), and one uniform number that decides
    whether a hint or explanation lands.

    **What the teacher sees of the attempt.** A real teacher reads the student's answer but can
    judge it only as well as it knows the item itself (a teacher LLM's own answer is right with its
    own accuracy). So the observation shows the student's answer *as the teacher judges it*:
    ``agrees_with_teacher`` is 1 when the student's answer equals the teacher's own answer. It
    equals the truth about the student's answer with probability ``c``. (Showing true correctness
    would make Saha et al.'s oracle, "intervene where the student is wrong", available to every
    teacher.)

    **Student confidence.** The simulated student reports a noisy self-estimate of its success
    probability ``p`` (its IRT success probability with guess and slip): ``sigmoid(logit(p) +
    confidence_noise * N(0, 1))``. A neural student reports its largest predicted class probability
    (``MLPStudent.predict_proba``), the confidence Saha et al. read from the student LLM.

    ## Action Space

    ``Discrete(4)``: 0 ``none``, 1 ``hint``, 2 ``explain``, 3 ``reveal``. Every move but ``none``
    costs one intervention from the episode's ``floor(budget_fraction * num_steps)``. Let ``a`` be
    whether the student's own answer is right, ``t`` whether the teacher's is, ``s`` the move's
    strength and ``u`` the item's uniform draw. The answer that counts is:

    - ``none``: the student's own answer (``a``).
    - ``hint`` (``s = hint_strength``) and ``explain`` (``s = explain_strength``): if ``t``, right
      when ``a`` or ``u < s``; if not ``t`` (a misleading hint or explanation), right when ``a``
      and ``u >= s``.
    - ``reveal``: the student copies the teacher's answer: right exactly when ``t``.

    An explanation has to be followed to help, so by default it repairs a wrong answer 60% of the
    time (a hint 30%), while a revealed answer is simply copied: telling is the surest way to a
    right answer *now*.

    The move also leaves a *lesson*: ``explain_examples`` / ``hint_examples`` / ``reveal_examples``
    training examples (defaults 8 / 2 / 0) of the item's skill and level, the item itself with
    its answer first and then fresh items; the student learns from them (``Student.learn``), which
    improves later items of that skill. Lessons teach at impasses (VanLehn et al. 2003, "Why do
    only some events cause learning during human tutoring?"): when the student's own answer was
    already right there is nothing to repair, and the lesson is cut to ``confirm_examples``
    (default 1, the item itself). A wrong teacher's lesson is the item with the teacher's wrong
    answer alone: a neural student trains on it (a misleading update); a simulated student, which
    cannot unlearn, learns nothing. ``none`` teaches nothing. For the simulated student every item
    is one step of its clock (forgetting runs in items, taught or not).

    Asking for a move that costs an intervention when none is left is refused with
    ``InvalidActionError`` naming the budget (never silently turned into ``none``), and nothing
    changes; ``obs["action_mask"]`` says which moves are affordable. Out-of-range, non-integer,
    bool, NaN and other malformed actions are refused the same way.

    ## Observation Space

    ``Dict`` (all float32 in [0, 1] unless said otherwise) about the item on the table:

    - ``skill`` ``(K,)`` and ``level`` ``(L,)``: one-hot skill and difficulty level of the item.
    - ``confidence`` ``(1,)``: the student's confidence in its answer (see above).
    - ``teacher_confidence`` ``(1,)``: the teacher's probability that its own answer and
      explanation for this item are right.
    - ``agrees_with_teacher`` ``(1,)``: 1 when the student's answer equals the teacher's answer.
    - ``interventions_left`` ``(1,)``: interventions left over the episode's total (0 when the
      total is 0).
    - ``budget`` ``(1,)``: fraction of the stream's items still to come (this one included).
    - ``action_mask`` ``MultiBinary(4)`` (int8): 1 for every affordable move; ``none`` always.

    No profile: the student's state is hidden, as for a real teacher. After the last step, when
    there is no item, the item entries are zeros.

    ## Rewards

    ``reward = (current_correct - cost) / num_steps + heldout_gain``: ``current_correct`` is 1 when
    the answer that counts is right, ``cost`` is ``intervention_cost`` when the move was an
    intervention (else 0), and ``heldout_gain`` is the objective (default ``"mean-gain"``: the gain
    in mean accuracy over all skills on the held-out validation split, the "future items").
    An episode's return is therefore the fraction of the stream answered right, minus
    ``intervention_cost`` times the fraction of items intervened on, plus the held-out gain over
    the episode. ``progress()`` is the quantity whose gains the reward sums: the validation mean
    accuracy (``mean_accuracy()``, what runners log) plus the stream's score so far
    (``sum(current_correct - cost) / num_steps``); it starts at the initial validation accuracy.

    ``info`` reports every step ``intervention`` (the move's name), ``current_correct`` and ``cost``
    of the step and the counters ``interventions_used`` and ``num_correct`` (items answered right).
    Only the last step's ``info`` adds the episode's ``heldout_gain`` (the sum of the steps'
    held-out gains: the return minus the stream's score), ``helped_now`` (items an intervention
    turned from wrong to right: students helped now), ``misled`` (from right to wrong) and
    ``learned`` (the validation mean accuracy gained since reset: students who learned); step by
    step they would show the validation trajectory and the student's unaided answers.

    ## Starting State

    A fresh student drawn from the reset seed (after ``warmup_examples`` examples of practice), the
    full intervention budget and the first item.

    ## Episode End

    Truncated after ``num_steps`` items; never terminated. The last ``info`` carries the validation
    ``profile`` and the hidden test split (``test_profile``, ``test_accuracy``).

    ## Arguments

    ``domain``, ``domain_options``, ``student``, ``student_options``, ``engine``, ``num_steps``,
    ``examples_per_step`` (must be 1), ``objective`` (see ``teachgym.composition.TeachingConfig``),
    the settings of :class:`InterventionConfig` and ``render_mode`` (``None`` or ``"ansi"``). The
    student must report a confidence: a simulated student (``expected_accuracy``) or one with
    ``predict_proba``; answers must be single class labels.

    Variants: ``Sim`` is the simulated student on the arithmetic latent domain (8 skills, 3 levels;
    :data:`SIM_LEARNER`); ``Synthetic`` is an ``MLPStudent`` (Adam at 0.003, minibatches of 16) on
    the synthetic domain (6 skills), warmed up on 128 examples, whose explanation is a 64-example
    update on the item's skill (eight small Adam steps), a hint two steps on the item and one fresh
    item, and a reveal nothing.

    ## Version History

    * v0: initial version. Revised (issue 14): ``info["heldout_gain"]`` comes only with the last
      step, as the episode's total (every step it showed the validation trajectory); rewards and
      observations are unchanged.
    """

    family = "Intervention"
    action_kind = "intervention"
    extra_observation_keys = (
        "skill",
        "level",
        "confidence",
        "teacher_confidence",
        "agrees_with_teacher",
        "interventions_left",
        "action_mask",
    )
    public_settings = ("budget_fraction", "num_interventions", "intervention_cost")
    reveals_profile = False
    extra_info_keys = (
        "intervention",
        "current_correct",
        "cost",
        "interventions_used",
        "num_correct",
    )
    # Only at the end: step by step, these would reveal the student's unaided answers and its
    # held-out (validation) trajectory, which the teacher must not see.
    extra_final_info_keys = ("heldout_gain", "helped_now", "misled", "learned")

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = parse_config(InterventionConfig, kwargs, owner=f"{self.family} env")
        parts = self.config.parts()
        student, domain = parts["student"], parts["domain"]
        if not (hasattr(student, "predict_proba") or hasattr(student, "expected_accuracy")):
            raise UnsupportedError(
                f"the Intervention family needs a student that reports its confidence "
                f"(predict_proba or expected_accuracy), not {type(student).__name__}"
            )
        probe = domain.heldout("validation")
        if probe.answer.ndim != probe.skill.ndim:
            raise UnsupportedError(
                f"the Intervention family needs single-label answers; domain {type(domain).__name__} "
                f"has answers of shape {probe.answer.shape[probe.skill.ndim :]} per item"
            )
        # Latent items are answered 1 (right) or 0; neural domains name their classes.
        self.num_answers = int(getattr(domain, "num_classes", 2))
        self.num_interventions = self.config.num_interventions
        self.budget_fraction = self.config.budget_fraction
        self._moves = spaces.Discrete(len(ACTIONS))
        self.action_space = self._moves
        self._lesson_size = {
            NONE: 0,
            HINT: self.config.hint_examples,
            EXPLAIN: self.config.explain_examples,
            REVEAL: self.config.reveal_examples,
        }
        self._strength = {HINT: self.config.hint_strength, EXPLAIN: self.config.explain_strength}
        super().__init__(**parts, render_mode=render_mode)

    # ------------------------------------------------------------------ spaces
    def _extra_spaces(self) -> dict[str, spaces.Space[Any]]:
        one = spaces.Box(0.0, 1.0, (1,), np.float32)
        return {
            "skill": spaces.Box(0.0, 1.0, (self.skills.num_skills,), np.float32),
            "level": spaces.Box(0.0, 1.0, (self.skills.num_levels,), np.float32),
            "confidence": one,
            "teacher_confidence": one,
            "agrees_with_teacher": one,
            "interventions_left": one,
            "action_mask": spaces.MultiBinary(len(ACTIONS)),
        }

    # ------------------------------------------------------------------ reset
    def _after_reset(self) -> None:
        # The stream (items and everything drawn with them) has its own generator, so that it is
        # the same whatever the teacher does; lessons draw their fresh items from the engine's.
        self._stream_rng = np.random.default_rng(int(self.np_random.integers(2**63)))
        if self.config.warmup_examples:
            cells = np.ones((1, self.skills.num_skills, self.skills.num_levels))
            counts = allocate(cells, self.config.warmup_examples)
            # The student's prior, not the teacher's spending: not counted in compute_used.
            self.student.learn(self.engine.generate(Plan(counts), self._engine_rng))
            self._profile = self._assess(self._validation)
            self._initial_profile = self._profile
            self._initial_test_profile = self._assess(self._test)
        self._interventions_used = 0
        self._num_correct = 0
        self._helped_now = 0
        self._misled = 0
        self._stream_score = 0.0
        self._heldout_gain = 0.0
        self._last: dict[str, Any] = {"intervention": "", "current_correct": False, "cost": 0.0}
        self._item: ItemDraw | None = self._present()

    def _present(self) -> ItemDraw:
        """Draw the next item and everything about it from the episode's stream generator."""
        config, rng = self.config, self._stream_rng
        return draw_item(rng, self.engine, self.student, self.domain, config, self.num_answers)

    # ------------------------------------------------------------------ step
    def _check_action(self, action: Any) -> int:
        """The move of a valid ``action``; InvalidActionError for anything else (nothing changes)."""
        if self._profile is None:
            raise EpisodeStateError("step() called before reset()")
        if self._step_count >= self.num_steps or self._item is None:
            raise EpisodeStateError("the episode's budget is spent; call reset() first")
        move = as_discrete(action, self._moves)
        intervenes = move != NONE
        if intervenes and self._interventions_used >= self.num_interventions:
            raise InvalidActionError(
                f"action {move} ({ACTIONS[move]}) needs an intervention, but the intervention budget "
                f"is spent: {self._interventions_used} of {self.num_interventions} used "
                f"(budget_fraction={self.budget_fraction:g} of {self.num_steps} items); only 0 (none) "
                "is allowed now, as obs['action_mask'] shows"
            )
        return move

    def _lesson(self, plan: Any) -> Lesson:
        move, item = int(plan), self._item
        assert item is not None  # checked by _check_action
        return Lesson(
            plan=(move, item, answer_right(move, item, self._strength)), batch=self._lesson_items(move, item)
        )

    def _end_step(
        self, lesson: Lesson, compute: int, profile: Profile
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        move, item, current_correct = lesson.plan
        intervenes = move != NONE
        cost = self.config.intervention_cost if intervenes else 0.0
        heldout_gain = self._reward(
            self._profile,  # type: ignore[arg-type]
            profile,
            Cost(examples=np.array([lesson.batch.skill.shape[-1]]), compute=np.array([compute])),
        )
        reward = (float(current_correct) - cost) / self.num_steps + heldout_gain
        self._profile = profile
        self._step_count += 1
        self._examples_used += 1
        self._compute_used += compute
        self._interventions_used += int(intervenes)
        self._num_correct += int(current_correct)
        self._helped_now += int(current_correct and not item.correct)
        self._misled += int(item.correct and not current_correct)
        self._stream_score += (float(current_correct) - cost) / self.num_steps
        self._heldout_gain += float(heldout_gain)
        self._last = {
            "intervention": ACTIONS[move],
            "current_correct": bool(current_correct),
            "cost": float(cost),
        }
        truncated = self._step_count >= self.num_steps
        self._item = None if truncated else self._present()
        return self._observation(), reward, False, truncated, self._info(final=truncated)

    def success(self) -> np.ndarray:
        """Chance ``(4,)`` that the answer that counts is right after each move, given everything
        already drawn for the item on the table except whether a hint or explanation lands.

        For the privileged ``oracle-utility`` reference and for tests; reading it breaks the
        teaching contract (it holds the student's true correctness).
        """
        if self._item is None:
            raise EpisodeStateError("no item on the table (before reset() or after the last step)")
        return np.array([chance_right(move, self._item, self._strength) for move in range(len(ACTIONS))])

    def _lesson_items(self, move: int, item: ItemDraw) -> Items:
        """The training examples ``move`` leaves (``(1, n)``, possibly empty)."""
        size = self._lesson_size[move]
        if size == 0:
            return item.items.head(0)
        if not item.teacher_right:
            if self.domain.view == "latent":  # a simulated learner cannot unlearn: nothing sticks
                return item.items.head(0)
            return dataclasses.replace(item.items, answer=np.full((1, 1), item.wrong_answer, np.int64))
        if item.correct:  # nothing to repair: the move only confirms the item (no impasse)
            size = min(size, self.config.confirm_examples)
        if size <= 1:
            return item.items.head(size)
        counts = np.zeros((1, self.skills.num_skills, self.skills.num_levels), np.int64)
        counts[0, int(item.items.skill[0, 0]), int(item.items.level[0, 0])] = size - 1
        return item.items.concat(self.engine.generate(Plan(counts), self._engine_rng))

    # ------------------------------------------------------------------ views
    def _extra_observation(self) -> dict[str, np.ndarray]:
        item = self._item
        skill = np.zeros(self.skills.num_skills, np.float32)
        level = np.zeros(self.skills.num_levels, np.float32)
        values = {"confidence": 0.0, "teacher_confidence": 0.0, "agrees_with_teacher": 0.0}
        if item is not None:
            skill[int(item.items.skill[0, 0])] = 1.0
            level[int(item.items.level[0, 0])] = 1.0
            values = {
                "confidence": item.confidence,
                "teacher_confidence": item.teacher_confidence,
                "agrees_with_teacher": float(item.agrees),
            }
        left = self.num_interventions - self._interventions_used
        mask = np.ones(len(ACTIONS), np.int8)
        mask[1:] = left > 0
        return {
            "skill": skill,
            "level": level,
            **{key: np.array([value], np.float32) for key, value in values.items()},
            "interventions_left": np.array(
                [left / self.num_interventions if self.num_interventions else 0.0], np.float32
            ),
            "action_mask": mask,
        }

    def _extra_info(self) -> dict[str, Any]:
        return {
            **self._last,
            "interventions_used": self._interventions_used,
            "num_correct": self._num_correct,
        }

    def _extra_final_info(self) -> dict[str, Any]:
        return {
            "heldout_gain": self._heldout_gain,
            "helped_now": self._helped_now,
            "misled": self._misled,
            "learned": self.mean_accuracy() - float(self._initial_profile.member(0).mean),
        }

    def progress(self) -> float:
        """The quantity whose gains the reward sums: the validation mean accuracy plus the stream's
        score so far, ``sum(current_correct - cost) / num_steps`` (see Rewards). Not an accuracy: it
        can exceed 1; :meth:`mean_accuracy` is the validation accuracy alone."""
        return self.mean_accuracy() + self._stream_score

    def privileged(self) -> dict[str, Any]:
        """The template's privileged channel plus ``success``: the bound method :meth:`success` (the
        true chance of a right answer after each move on the item on the table), for the
        ``oracle-utility`` reference only."""
        return {**super().privileged(), "success": self.success}

    def render(self) -> str | None:  # type: ignore[override]
        text = super().render()
        if text is None or self._item is None:
            return text
        item = self._item
        skill = self.skills.names[int(item.items.skill[0, 0])]
        return text + (
            f"  item: {skill} level {int(item.items.level[0, 0])}  student confidence "
            f"{item.confidence:.2f}  teacher confidence {item.teacher_confidence:.2f}  "
            f"agrees {'yes' if item.agrees else 'no'}  interventions "
            f"{self._interventions_used}/{self.num_interventions}\n"
        )
