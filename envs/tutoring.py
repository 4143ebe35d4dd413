"""Tutor: choose a learner's next exercise from what a tutor can see (intelligent tutoring, a POMDP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from teachgym.actions import as_discrete
from teachgym.bench.effects import Effect
from teachgym.composition import TeachingConfig
from teachgym.config import parse_config, require
from teachgym.domains.base import Items
from teachgym.engines import Plan
from teachgym.env import Lesson, TeachingEnv
from teachgym.errors import ConfigError
from teachgym.objectives import Cost
from teachgym.skills import Profile

ENV_CLASS = "TutorEnv"

#: The learner population of the ``Sim`` variants: ``SimulatedStudent`` options (the simulator's other
#: parameters keep their defaults) whose spreads give every episode's learner its own traits, as PSI-KT
#: (Zhou et al. 2024) infers learner-specific learning and forgetting. Time is counted in exercises.
#:
#: - ``learning_rate`` 0.2 per exercise (log-normal spread 0.5: a factor e^0.5 ~ 1.6 at one sd). The
#:   simulator's default, 0.04, is set for steps of 40 examples; one exercise at a time, 0.2 lets a
#:   learner master a skill in about 5-15 exercises, the scale of tutored learning curves (BKT fits:
#:   P(T) ~ 0.05-0.3 per opportunity, Corbett & Anderson 1994). BKT fitted by EM to this population's
#:   answers under the ``random`` teacher (200 learners) gives P(T) ~ 0.29, 0.11 and 0.05 for
#:   exercises of levels 0, 1 and 2.
#: - ``forgetting_scale`` 10 exercises and the default exponent 0.2 (log-normal spread 0.3 across
#:   learners): a trace keeps ``(1 + t/10)^-0.2`` of its gain, about 70% after 50 exercises and 57%
#:   after 150 (power-law forgetting, Wixted & Ebbesen 1991).
#: - ``guess`` 0.2 (logit-normal spread 0.4: 95% of learners within 0.10-0.35), the middle of BKT's
#:   typical 0.1-0.3 (Corbett & Anderson 1994; Baker, Corbett & Aleven 2008).
#: - ``slip`` 0.05 (logit-normal spread 0.4: 95% within 0.02-0.10), the low end of BKT's typical
#:   0.05-0.2. The simulator teaches most at an *observed* success of 0.85 (``zpd_target_success``,
#:   the 85% rule); a learner whose slip nears 0.15 can never reach it: its ZPD centre clips at items
#:   about 3 logits easier than its ability, and it learns next to nothing from any exercise. Around
#:   the simulator's slip 0.1 with this spread, about one learner in five had a slip above 0.13.
LEARNER_POPULATION: dict[str, Any] = {
    "learning_rate": 0.2,
    "learning_rate_sd": 0.5,
    "forgetting_scale": 10.0,
    "forgetting_sd": 0.3,
    "guess_sd": 0.4,
    "slip": 0.05,
    "slip_sd": 0.4,
}

#: Variant name -> (version, keyword arguments). One exercise per step.
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    "Sim": (
        0,
        {
            "domain": "sim",
            "student": "simulated",
            "student_options": dict(LEARNER_POPULATION),
            "num_steps": 150,
            "reward": "post-test",
        },
    ),
    "Sim-Dense": (
        0,
        {
            "domain": "sim",
            "student": "simulated",
            "student_options": dict(LEARNER_POPULATION),
            "num_steps": 150,
            "reward": "per-step",
        },
    ),
}

#: Teachers whose mean test accuracy is a score of 1: the oracle that reads the learner's state.
REFERENCES = ("oracle",)
#: The family's naive baseline (it must beat ``random`` for a task to earn its place): the exercises
#: in syllabus order, one after another (``uniform``'s shuffled cycles and ``random`` differ by 0.013
#: test accuracy on Tutor-Sim-v0; the fixed order by 0.039: calibration seeds 5000-5099).
BASELINE = "round-robin"
#: Benchmark suites: suite -> [(task, variant, keyword overrides)].
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "quick": [("Tutor-Sim-v0", "Sim", {})],
    "core-v1": [("Tutor-Sim-v0", "Sim", {})],
    "candidates-v1": [("Tutor-Sim-v0", "Sim", {})],
    "core-v0": [("Tutor-Sim-v0", "Sim", {})],
}
#: Pre-registered effects: each paper's own contrast, declared as data before it is run; computed
#: by ``teachgym effects DIR`` and reported whatever it shows (teachgym.bench.effects).
EFFECTS: tuple[Effect, ...] = (
    Effect(
        name="spaced-repetition-beats-uniform",
        paper="Wixted & Ebbesen 1991 (power-law forgetting); Leitner / SM-2 spaced repetition",
        task="Tutor-Sim-v0",
        teacher="spaced-repetition",
        baseline="uniform",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(100)),
        note=(
            "Reviews at growing intervals beat equal practice per exercise for a forgetting learner. "
            "Declared before the benchmark seeds were run; calibration seeds 5000-5099 (disjoint) had been "
            "run first."
        ),
    ),
    Effect(
        name="irt-zpd-beats-uniform",
        paper="Wilson et al. 2019 (the 85% rule); IRT 2PL",
        task="Tutor-Sim-v0",
        teacher="irt-zpd",
        baseline="uniform",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(100)),
        note=(
            "Exercises pitched where the learner succeeds about 85% of the time beat equal practice. "
            "Declared before the benchmark seeds were run; calibration seeds 5000-5099 (disjoint) had been "
            "run first."
        ),
    ),
    Effect(
        name="bkt-mastery-beats-uniform",
        paper="Corbett & Anderson 1994 (BKT mastery learning)",
        task="Tutor-Sim-v0",
        teacher="bkt-mastery",
        baseline="uniform",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(100)),
        note=(
            "Practising a skill until BKT says P(L) >= 0.95, then moving on, beats equal practice. Declared"
            " before the benchmark seeds were run; calibration seeds 5000-5099 (disjoint) had been run "
            "first."
        ),
    ),
)

#: Reward schemes of the family: a sparse post-test gain at the end, or its per-step increments.
REWARDS = ("post-test", "per-step")


@dataclass(frozen=True)
class TutorConfig(TeachingConfig):
    """Settings of :class:`TutorEnv`: those of every teaching env, one exercise per step, and the
    tutor's view and schedule.

    Attributes:
        examples_per_step: exercises per step; must be 1 (a tutor picks one exercise at a time).
        reward: ``"post-test"`` (0 on every step but the last, whose reward is the gain from the
            initial to the final validation accuracy) or ``"per-step"`` (the gain of every step).
        history_length: number of the learner's most recent exercises in the observation.
        session_length: exercises per session; 0 means one session for the whole episode.
        break_length: time between two sessions, in exercises (the learner practises nothing and
            forgets meanwhile); ignored when ``session_length`` is 0.
    """

    examples_per_step: int = 1
    num_steps: int = 150
    reward: str = "post-test"
    history_length: int = 10
    session_length: int = 0
    break_length: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "Tutor env"
        require(self.examples_per_step == 1, owner, "examples_per_step", self.examples_per_step, "1")
        require(self.reward in REWARDS, owner, "reward", self.reward, f"one of {list(REWARDS)}")
        require(
            1 <= self.history_length <= 1000,
            owner,
            "history_length",
            self.history_length,
            "an int in [1, 1000]",
        )
        require(self.session_length >= 0, owner, "session_length", self.session_length, "an int >= 0")
        require(
            0.0 <= self.break_length <= 1e6,
            owner,
            "break_length",
            self.break_length,
            "a number in [0, 1e6] exercises",
        )


class TutorEnv(TeachingEnv):
    """## Description

    Intelligent tutoring with a simulated human learner, in the spirit of EduSim's KSS (2019), BKT
    tutors (Corbett & Anderson 1994) and PSI-KT's learner model (Zhou et al. 2024). Each episode
    holds one learner whose traits (prior knowledge per skill, learning rate, forgetting rate,
    guess and slip) are drawn from a documented population (:data:`LEARNER_POPULATION`), over skills
    with a prerequisite structure (the ``Sim`` domain's arithmetic skills: a skill is learned slowly
    until its prerequisites are known) and power-law forgetting of every trace of practice.

    Each step the teacher picks the next exercise: a skill and a difficulty level. The learner
    attempts a fresh item of that cell (its answer, correct or not, is sampled from the learner's
    true state with guess and slip), then learns from it. The teacher never sees the learner's
    state or a test result: only what a tutor sees (the learner's answers, the time and the known
    prerequisite graph). It must trace the learner's knowledge: a POMDP.

    **Time.** Each exercise is one step and one unit of time. With ``session_length`` > 0 the
    exercises come in sessions of that many, and a break of ``break_length`` time units, in which
    the learner practises nothing and forgets, follows every session but the last; ``elapsed``,
    ``since_practice`` and ``info["elapsed_time"]`` count it. The post-test follows the last exercise.
    The registered variants have one session (no breaks).

    ## Action Space

    ``Discrete(K * L)``: exercise ``a`` is skill ``a // L`` at level ``a % L`` (level 0 the easiest),
    the row-major cell index of a ``(K, L)`` grid; :meth:`exercise` and :meth:`action_of` convert.
    Every value is valid; anything else (floats, bools, out-of-range values, arrays of more than one
    entry) is refused with ``InvalidActionError`` and changes nothing. One flat choice (rather than
    ``MultiDiscrete([K, L])``) keeps the family usable by every SB3 algorithm (DQN included) and by
    the generic ``random`` and ``round-robin`` teachers.

    ## Observation Space

    ``Dict`` of float32 arrays in [0, 1] (``K`` skills, ``L`` levels, ``N = history_length``):

    - ``budget`` ``(1,)``: fraction of the exercises left.
    - ``elapsed`` ``(1,)``: time elapsed (exercises and breaks) over the episode's total time.
    - ``recent`` ``(N, K + L + 1)``: the last ``N`` exercises, most recent first, each as a one-hot
      skill, a one-hot level and 1 if answered correctly; all-zero rows before the first exercises.
    - ``attempts`` ``(K, L)``: exercises given per cell, over ``num_steps``.
    - ``correct`` ``(K, L)``: correct answers per cell, over ``num_steps``.
    - ``since_practice`` ``(K,)``: time since the skill's last exercise over the episode's total time
      (1 for a skill never practised).
    - ``prerequisites`` ``(K, K)``: 1 where skill ``j`` (column) is a prerequisite of skill ``k``
      (row); constant.

    There is no ``profile``: the family hides the learner's state (``reveals_profile = False``); the
    validation results reach ``info`` only on the last step.

    ## Rewards

    ``reward="post-test"`` (``Tutor-Sim-v0``): 0 on every step but the last, whose reward is the
    post-test gain, final minus initial mean validation accuracy (the validation split plays the
    pre- and post-test; the hidden test split stays for the benchmark). ``reward="per-step"``
    (``Tutor-Sim-Dense-v0``): the gain in mean validation accuracy of every step, as in the other
    families. Both returns telescope to the same value (as EduSim's KSS rewards final minus initial
    score). Under ``irt-zpd`` a step's dense reward averages 0.0025 with a standard deviation of
    0.022 (the difference of two validation tests of 720 sampled answers), so the dense reward is a
    noisy shaping signal, not a cleaner one.

    ## Starting State

    A fresh learner drawn from the reset seed; no exercise yet.

    ## Episode End

    Truncated after ``num_steps`` exercises; never terminated. The last ``info`` carries the
    validation profile and the hidden test split (``test_profile``, ``test_accuracy``).

    ``info`` also carries, every step, the exercise just given and its outcome: ``last_skill`` (its
    name, ``""`` after reset), ``last_level`` (-1 after reset), ``last_correct`` (1 or 0, -1 after
    reset) and ``elapsed_time`` (exercises and breaks so far): nothing the observation does not show.

    ## Arguments

    ``domain``, ``domain_options``, ``student``, ``student_options``, ``engine``, ``num_steps``,
    ``objective`` (see ``teachgym.composition.TeachingConfig``); ``examples_per_step`` (must be 1),
    ``reward``, ``history_length``, ``session_length``, ``break_length`` (see :class:`TutorConfig`)
    and ``render_mode`` (``None`` or ``"ansi"``). Options given to ``make`` replace the variant's
    ``student_options``; pass :data:`LEARNER_POPULATION`'s entries again to keep its spreads. Breaks
    need a student with a clock (the simulated student): a break advances it without practice.

    ## Version History

    * v0: initial version.
    """

    family = "Tutor"
    action_kind = "choice"
    extra_observation_keys = ("prerequisites", "attempts", "correct", "since_practice", "recent", "elapsed")
    public_settings = ("reward", "history_length", "session_length", "break_length")
    reveals_profile = False
    extra_info_keys = ("last_skill", "last_level", "last_correct", "elapsed_time")

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = parse_config(TutorConfig, kwargs, owner=f"{self.family} env")
        parts = self.config.parts()
        domain, student = parts["domain"], parts["student"]
        skills = domain.skills
        if self.config.session_length and self.config.break_length and not hasattr(student, "clock"):
            raise ConfigError(
                f"Tutor env breaks (break_length={self.config.break_length}) need a student with a clock, "
                f"not {type(student).__name__}"
            )
        self.num_levels = skills.num_levels
        self.history_length = self.config.history_length
        self.action_space = spaces.Discrete(skills.num_skills * skills.num_levels)
        super().__init__(**parts, render_mode=render_mode)
        num_breaks = (self.num_steps - 1) // self.config.session_length if self.config.session_length else 0
        #: Time of a whole episode, exercises plus breaks.
        self.total_time = float(self.num_steps + num_breaks * self.config.break_length)

    # ------------------------------------------------------------------ cells
    def exercise(self, action: int) -> tuple[int, int]:
        """``(skill, level)`` of a valid ``action``."""
        return divmod(int(action), self.num_levels)

    def action_of(self, skill: int, level: int) -> int:
        """The action that gives an exercise of ``skill`` at ``level``."""
        return int(skill) * self.num_levels + int(level)

    # ------------------------------------------------------------------ hooks
    def _extra_spaces(self) -> dict[str, spaces.Space[Any]]:
        num_skills, num_levels = self.skills.num_skills, self.skills.num_levels
        width = num_skills + num_levels + 1
        return {
            "elapsed": spaces.Box(0.0, 1.0, (1,), np.float32),
            "recent": spaces.Box(0.0, 1.0, (self.history_length, width), np.float32),
            "attempts": spaces.Box(0.0, 1.0, (num_skills, num_levels), np.float32),
            "correct": spaces.Box(0.0, 1.0, (num_skills, num_levels), np.float32),
            "since_practice": spaces.Box(0.0, 1.0, (num_skills,), np.float32),
            "prerequisites": spaces.Box(0.0, 1.0, (num_skills, num_skills), np.float32),
        }

    def _plan(self, action: Any) -> Plan:
        skill, level = self.exercise(as_discrete(action, self.action_space))
        counts = np.zeros((1, self.skills.num_skills, self.num_levels), np.int64)
        counts[0, skill, level] = 1
        return Plan(counts)

    def _probe(self, batch: Items) -> Items:
        # The learner attempts the exercise (its answer is recorded) before it learns from it.
        return batch

    def _on_probe(self, lesson: Lesson, answers: np.ndarray) -> None:
        self._last_correct = bool(self.domain.grade(lesson.probe, answers).reshape(-1)[0])

    def _after_reset(self) -> None:
        num_skills = self.skills.num_skills
        self._attempts = np.zeros((num_skills, self.num_levels), np.int64)
        self._correct = np.zeros((num_skills, self.num_levels), np.int64)
        self._recent = np.zeros(self.observation_space["recent"].shape, np.float32)
        self._last_practice = np.full(num_skills, -np.inf)
        self._time = 0.0
        self._last: tuple[int, int, int] = (-1, -1, -1)

    def _after_step(self, plan: Plan) -> None:
        cell = int(np.flatnonzero(plan.counts[0])[0])
        skill, level = divmod(cell, self.num_levels)
        correct = self._last_correct
        self._attempts[skill, level] += 1
        self._correct[skill, level] += correct
        row = np.zeros(self._recent.shape[1], np.float32)
        row[skill] = row[self.skills.num_skills + level] = 1.0
        row[-1] = float(correct)
        self._recent = np.concatenate([row[None], self._recent[:-1]])
        self._time += 1.0
        self._last_practice[skill] = self._time
        self._last = (skill, level, int(correct))
        session = self.config.session_length
        if session and self._step_count % session == 0 and self._step_count < self.num_steps:
            self._take_break()

    def _take_break(self) -> None:
        """The time between two sessions passes: the learner's clock advances, no practice."""
        gap = self.config.break_length
        if gap:
            self.student.clock = self.student.clock + gap  # type: ignore[attr-defined]
            self._time += gap

    def _extra_observation(self) -> dict[str, np.ndarray]:
        total = self.total_time
        since = np.minimum((self._time - self._last_practice) / total, 1.0)
        return {
            "elapsed": np.array([min(self._time / total, 1.0)], np.float32),
            "recent": self._recent.copy(),
            "attempts": (self._attempts / self.num_steps).astype(np.float32),
            "correct": (self._correct / self.num_steps).astype(np.float32),
            "since_practice": since.astype(np.float32),
            "prerequisites": self.skills.prerequisite_matrix().astype(np.float32),
        }

    def _extra_info(self) -> dict[str, Any]:
        skill, level, correct = self._last
        return {
            "last_skill": self.skills.names[skill] if skill >= 0 else "",
            "last_level": level,
            "last_correct": correct,
            "elapsed_time": self._time,
        }

    def _reward(self, previous: Profile, current: Profile, cost: Cost) -> float:
        if self.config.reward == "per-step":
            return super()._reward(previous, current, cost)
        # Called before the step count advances: the last step is num_steps - 1. The objective of
        # (initial, final) is the post-test gain, charged with the whole episode's cost so that a
        # cost-bearing objective sums as in the dense variant; earlier steps still call it (checked).
        total = Cost(examples=cost.examples + self._examples_used, compute=cost.compute + self._compute_used)
        value = super()._reward(self._initial_profile, current, total)
        return value if self._step_count == self.num_steps - 1 else 0.0
