"""Intervention: a stream of items; for each one the teacher decides whether and how to step in
(Saha et al. 2023, "Can Language Models Teach Weaker Agents?"; MathDial, Macina et al. 2023)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.actions import as_discrete, each
from teachgym.bench.effects import Effect
from teachgym.domains.base import Items
from teachgym.engines import Plan, allocate
from teachgym.env import TeachingEnv
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
    draw_items,
    strengths,
)
from teachgym.errors import EpisodeStateError, InvalidActionError, UnsupportedError
from teachgym.family import Family, Lesson
from teachgym.loop import EpisodeState
from teachgym.objectives import Cost, make_objective
from teachgym.skills import Profile
from teachgym.students.members import learn_each, on_members, stack_rows

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


class Intervention(Family):
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

    ## Why It Matters

    A teacher's help is budgeted: explaining where the student would fail helps most (Saha et al.'s
    expected-utility teacher), and revealing answers helps now but teaches little (MathDial).

    ## References

    * Saha et al. (2023), "Can Language Models Teach Weaker Agents? Teacher Explanations Improve
      Students via Personalization".
    * Macina et al. (2023), MathDial: telling versus teaching; VanLehn et al. (2003): learning at impasses.

    ## Version History

    * v0: initial version. Revised (issue 14): ``info["heldout_gain"]`` comes only with the last
      step, as the episode's total (every step it showed the validation trajectory); rewards and
      observations are unchanged.
    """

    name = "Intervention"
    action_kind = "intervention"
    config_class = InterventionConfig
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

    config: InterventionConfig

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Latent items are answered 1 (right) or 0; neural domains name their classes.
        self.num_answers = int(getattr(self.domain, "num_classes", 2))
        self.num_interventions = self.config.num_interventions
        self.budget_fraction = self.config.budget_fraction
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._lesson_size = np.array(
            [0, self.config.hint_examples, self.config.explain_examples, self.config.reveal_examples]
        )
        self._strength = strengths(self.config)
        # The loop's objective, to sum the held-out part of the reward for the last step's info.
        self._objective = make_objective(self.config.objective_for(self.domain))

    # ------------------------------------------------------------------ set-up
    def observation_spaces(self) -> dict[str, spaces.Space[Any]]:
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

    def check_student(self, student: Any) -> None:
        if not (hasattr(student, "predict_proba") or hasattr(student, "expected_accuracy")):
            raise UnsupportedError(
                f"the Intervention family needs a student that reports its confidence "
                f"(predict_proba or expected_accuracy), not {type(student).__name__}"
            )
        probe = self.domain.heldout("validation")
        if probe.answer.ndim != probe.skill.ndim:
            raise UnsupportedError(
                f"the Intervention family needs single-label answers; domain {type(self.domain).__name__} "
                f"has answers of shape {probe.answer.shape[probe.skill.ndim :]} per item"
            )

    # ------------------------------------------------------------------ reset
    def reset(self, state: EpisodeState, student: Any) -> tuple[InterventionState, bool]:
        n = state.size
        # The stream (items and everything drawn with them) has its own generator, so that it is
        # the same whatever the teacher does; lessons draw their fresh items from the engine's.
        stream_rng = [np.random.default_rng(int(rng.integers(2**63))) for rng in state.episode_rng]
        taught = bool(self.config.warmup_examples)
        if taught:
            cells = np.ones((1, self.skills.num_skills, self.skills.num_levels))
            counts = allocate(cells, self.config.warmup_examples)
            # The student's prior, not the teacher's spending: not counted in compute_used.
            warmup = [self.engine.generate(Plan(counts), rng) for rng in state.engine_rng]
            learn_each(student, range(n), warmup)
        zeros = np.zeros(n, np.int64)
        family = InterventionState(
            stream_rng=stream_rng,
            item=None,  # type: ignore[arg-type]  # drawn in start(), once the students are assessed
            interventions_used=zeros,
            num_correct=zeros,
            helped_now=zeros,
            misled=zeros,
            heldout_gain=np.zeros(n),
            intervention=[""] * n,
            current_correct=np.zeros(n, bool),
            cost=np.zeros(n),
        )
        return family, taught

    def start(self, state: EpisodeState, student: Any) -> InterventionState:
        rngs = state.family.stream_rng
        return dataclasses.replace(state.family, item=self._draw(rngs, student, np.arange(state.size), None))

    def _draw(
        self, rngs: list[np.random.Generator], student: Any, rows: np.ndarray, previous: ItemDraw | None
    ) -> ItemDraw:
        """The next items of the episodes ``rows`` (the others' tables are left empty), each drawn
        from its stream generator and answered by its own member of ``student``."""
        if not len(rows):
            assert previous is not None
            return dataclasses.replace(previous, shown=np.zeros_like(previous.shown))
        draw = on_members(
            student,
            rows.tolist(),
            lambda members: draw_items(
                [rngs[i] for i in rows], self.engine, members, self.domain, self.config, self.num_answers
            ),
        )
        if previous is None or len(rows) == len(rngs):
            return draw  # type: ignore[no-any-return]
        return dataclasses.replace(previous, shown=np.zeros_like(previous.shown)).put(rows, draw)

    # ------------------------------------------------------------------ step
    def plan(self, state: EpisodeState, actions: Sequence[Any]) -> Lesson:
        moves = as_moves(actions, self.action_space)  # type: ignore[arg-type]
        family: InterventionState = state.family
        refused = np.flatnonzero((moves != NONE) & (family.interventions_used >= self.num_interventions))
        if len(refused):
            index = int(refused[0])
            move = int(moves[index])
            message = (
                f"action {move} ({ACTIONS[move]}) needs an intervention, but the intervention budget "
                f"is spent: {int(family.interventions_used[index])} of {self.num_interventions} used "
                f"(budget_fraction={self.budget_fraction:g} of {self.num_steps} items); only 0 (none) "
                "is allowed now, as obs['action_mask'] shows"
            )
            raise InvalidActionError(
                message if len(moves) == 1 else f"env {index} of the vector env: {message}"
            )
        return Lesson(
            plan=Moves(
                move=moves,
                right=answer_right(moves, family.item, self._strength),
                previous=state.profile,
                compute_used=state.compute_used,
            )
        )

    def lesson(self, state: EpisodeState, lesson: Lesson, student: Any) -> Lesson:
        item: ItemDraw = state.family.item
        batches = [
            self._lesson_items(int(move), item, i, state.engine_rng[i])
            for i, move in enumerate(lesson.plan.move)
        ]
        batch = stack_rows(batches) if len({len(b) for b in batches}) == 1 else batches
        return Lesson(plan=lesson.plan, batch=batch)

    def _lesson_items(self, move: int, item: ItemDraw, index: int, rng: np.random.Generator) -> Items:
        """The training examples ``move`` leaves on episode ``index``'s item (``(1, M)``, possibly
        empty), fresh ones drawn from ``rng``."""
        items = item.items.take(np.array([index]))
        size = int(self._lesson_size[move])
        if size == 0:
            return items.head(0)
        if not item.teacher_right[index]:
            if self.domain.view == "latent":  # a simulated learner cannot unlearn: nothing sticks
                return items.head(0)
            return dataclasses.replace(items, answer=np.full((1, 1), item.wrong_answer[index], np.int64))
        if item.correct[index]:  # nothing to repair: the move only confirms the item (no impasse)
            size = min(size, self.config.confirm_examples)
        if size <= 1:
            return items.head(size)
        counts = np.zeros((1, self.skills.num_skills, self.skills.num_levels), np.int64)
        counts[0, int(items.skill[0, 0]), int(items.level[0, 0])] = size - 1
        return items.concat(self.engine.generate(Plan(counts), rng))

    def examples(self, lesson: Lesson) -> np.ndarray:
        """One item per step, whatever the lesson's size (the budget counts items of the stream)."""
        return np.ones(len(lesson.plan.move), np.int64)

    def _cost(self, moves: np.ndarray) -> np.ndarray:
        return np.where(moves != NONE, self.config.intervention_cost, 0.0)

    def bonus(self, state: EpisodeState, lesson: Lesson) -> np.ndarray:
        """The stream's part of the reward: ``(current_correct - cost) / num_steps``."""
        plan: Moves = lesson.plan
        return (plan.right.astype(np.float64) - self._cost(plan.move)) / self.num_steps

    def update(self, state: EpisodeState, lesson: Lesson, answers: Any, student: Any) -> InterventionState:
        family: InterventionState = state.family
        plan: Moves = lesson.plan
        # The held-out part of the step's reward, as the loop computed it (it is not handed over).
        cost = Cost(examples=self.examples(lesson), compute=state.compute_used - plan.compute_used)
        gain = self._objective(self.scored(state, plan.previous), self.scored(state, state.profile), cost)
        gain = np.broadcast_to(np.asarray(gain, np.float64).reshape(-1), (state.size,))
        before = family.item.correct
        running = np.flatnonzero(state.step < self.num_steps)
        return InterventionState(
            stream_rng=family.stream_rng,
            item=self._draw(family.stream_rng, student, running, family.item),
            interventions_used=family.interventions_used + (plan.move != NONE),
            num_correct=family.num_correct + plan.right,
            helped_now=family.helped_now + (plan.right & ~before),
            misled=family.misled + (before & ~plan.right),
            heldout_gain=family.heldout_gain + gain,
            intervention=[ACTIONS[move] for move in plan.move],
            current_correct=plan.right.copy(),
            cost=self._cost(plan.move),
        )

    # ------------------------------------------------------------------ views
    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        family: InterventionState = state.family
        item, n = family.item, state.size
        shown = item.shown
        rows = np.flatnonzero(shown)
        skill = np.zeros((n, self.skills.num_skills), np.float32)
        level = np.zeros((n, self.skills.num_levels), np.float32)
        skill[rows, item.items.skill[rows, 0]] = 1.0
        level[rows, item.items.level[rows, 0]] = 1.0
        left = self.num_interventions - family.interventions_used
        mask = np.ones((n, len(ACTIONS)), np.int8)
        mask[:, 1:] = (left > 0)[:, None]
        share = left / self.num_interventions if self.num_interventions else np.zeros(n)

        def column(values: np.ndarray) -> np.ndarray:
            return np.where(shown, values, 0.0).astype(np.float32)[:, None]

        return {
            "skill": skill,
            "level": level,
            "confidence": column(item.confidence),
            "teacher_confidence": column(item.teacher_confidence),
            "agrees_with_teacher": column(item.agrees.astype(np.float64)),
            "interventions_left": share.astype(np.float32)[:, None],
            "action_mask": mask,
        }

    def info(self, state: EpisodeState) -> dict[str, Any]:
        family: InterventionState = state.family
        return {
            "intervention": list(family.intervention),
            "current_correct": family.current_correct.copy(),
            "cost": family.cost.copy(),
            "interventions_used": family.interventions_used.copy(),
            "num_correct": family.num_correct.copy(),
        }

    def final_info(self, state: EpisodeState, rows: np.ndarray) -> dict[str, Any]:
        family: InterventionState = state.family
        accuracy = np.asarray(self.scored(state, state.profile).mean, np.float64).reshape(-1)
        return {
            "heldout_gain": family.heldout_gain.copy(),
            "helped_now": family.helped_now.copy(),
            "misled": family.misled.copy(),
            "learned": accuracy - np.asarray(state.initial_profile.mean, np.float64).reshape(-1),
        }

    def privileged(self, current: Callable[[], EpisodeState], index: int, student: Any) -> dict[str, Any]:
        """``success``: a function giving the chance ``(4,)`` that the answer that counts is right
        after each move, given everything already drawn for episode ``index``'s item on the table
        except whether a hint or explanation lands (read when it is called). For the privileged
        ``oracle-utility`` reference and for tests; reading it breaks the teaching contract (it
        holds the student's true correctness)."""

        def success() -> np.ndarray:
            try:
                item = current().family.item
            except EpisodeStateError:
                item = None
            if item is None or not item.shown[index]:
                raise EpisodeStateError("no item on the table (before reset() or after the last step)")
            return chance_right(item, self._strength)[index]

        return {"success": success}

    def describe_item(self, state: EpisodeState, index: int) -> str:
        family: InterventionState = state.family
        item = family.item
        if not item.shown[index]:
            return ""
        skill = self.skills.names[int(item.items.skill[index, 0])]
        return (
            f"  item: {skill} level {int(item.items.level[index, 0])}  student confidence "
            f"{item.confidence[index]:.2f}  teacher confidence {item.teacher_confidence[index]:.2f}  "
            f"agrees {'yes' if item.agrees[index] else 'no'}  interventions "
            f"{int(family.interventions_used[index])}/{self.num_interventions}"
        )


def as_moves(actions: Sequence[Any], space: spaces.Discrete) -> np.ndarray:
    """``n`` actions as int64 moves ``(n,)`` in ``space``, checked as :func:`as_discrete` checks one
    (a refusal names its env where ``n > 1``); an int array ``(n,)`` in range takes a fast path."""
    if isinstance(actions, np.ndarray) and not isinstance(actions, np.ma.MaskedArray) and actions.ndim == 1:
        moves = actions.astype(np.int64) if actions.dtype.kind in "iu" else None
        if moves is not None and np.all((moves >= space.start) & (moves < space.start + space.n)):
            return moves
    return np.array(each(actions, lambda action: as_discrete(action, space)), np.int64)


class InterventionEnv(TeachingEnv):
    """The Intervention family as a Gymnasium env (see :class:`Intervention`)."""

    FAMILY = Intervention
