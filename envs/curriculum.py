"""Curriculum: choose the sub-task each step trains on (TSCL; class-incremental "Learning to Learn")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from gymnasium import spaces

from teachgym.actions import as_discretes
from teachgym.bench.effects import Effect
from teachgym.composition import TeachingConfig
from teachgym.config import check_real
from teachgym.engines import Plan
from teachgym.env import TeachingEnv
from teachgym.episode import EpisodeState
from teachgym.errors import ConfigError
from teachgym.family import Family, Lesson

ENV_CLASS = "CurriculumEnv"

#: Variant name -> (version, keyword arguments). Budgets are steps x examples per step.
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    # 2..5-digit sums (AdditionDomain's defaults) and a 64-unit GRU (GRUStudent's defaults). Under
    # uniform sampling the 5-digit sub-task passes 0.9 after about 110 of the 150 steps.
    "Addition": (0, {"domain": "addition", "student": "gru", "num_steps": 150, "examples_per_step": 128}),
    # Ten digit classes in 30 steps (three per class on average). Half of every step's examples are
    # replayed, as in experience replay (Chaudhry et al. 2019: each incoming minibatch is joined by an
    # equal-sized one from memory); with 20% the final test accuracy is 0.30-0.42 whatever the order.
    # The MLP makes 10 passes over each step's examples (20 updates) at step size 0.003 instead of its
    # defaults (2 passes, 0.01): with 4 updates a class taught for three steps is barely recognised
    # afterwards (0.1-0.36 validation accuracy; the softmax is saturated on the classes before), and
    # at 0.01 most hidden ReLUs die within a few single-class steps, so later classes cannot be
    # learned at all. With these settings a class just taught scores 0.98 and the rest is forgetting.
    # TSCL's setting in latent form: five sub-tasks in a chain (each needs the one before it, as
    # longer sums build on shorter ones) and the simulated student; 40 steps of 40 examples.
    # Calibrated (leaderboards/calibration-v2): the syllabus order beats independent draws by about
    # 0.05 and the oracle beats uniform by about 0.09.
    "Sim": (
        0,
        {
            "domain": "sim",
            "domain_options": {"skills": "task-chain"},
            "student": "simulated",
            "num_steps": 40,
            "examples_per_step": 40,
        },
    ),
    "ClassIncremental-Digits": (
        0,
        {
            "domain": "digits",
            "student": "mlp",
            "student_options": {"num_epochs": 10, "learning_rate": 0.003},
            "engine": "pool",
            "num_steps": 30,
            "examples_per_step": 64,
            "replay_fraction": 0.5,
            "ordered": False,
        },
    ),
}

#: Teachers whose mean test accuracy is a score of 1, per variant: the oracle where the student is
#: simulated (its true state is known); elsewhere each variant's own paper's teacher (TSCL's Window
#: teacher, Matiisen et al. 2017's best on decimal addition; the curriculum designer of "Learning to
#: Learn", 2023), as there is no privileged oracle for a neural student.
REFERENCES = {
    "Addition": ("tscl-window",),
    "Sim": ("oracle",),
    "ClassIncremental-Digits": ("curriculum-designer",),
}
#: The naive baseline that must beat ``random`` (independent draws, TSCL's "uniform sampling"): on
#: ordered sub-tasks, the manual easy-to-hard curriculum TSCL compares with (Zaremba & Sutskever
#: 2014's naive strategy); ``uniform`` elsewhere.
BASELINE = {"Sim": "easy-to-hard"}
#: Benchmark suites: suite -> [(task, variant, keyword overrides)].
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "quick": [("Curriculum-Sim-v0", "Sim", {})],
    "core-v1": [("Curriculum-Sim-v0", "Sim", {})],
    "core-v2": [("Curriculum-Sim-v0", "Sim", {})],
    "candidates-v2": [("Curriculum-Sim-v0", "Sim", {})],
    "candidates-v1": [
        ("Curriculum-Addition-v0", "Addition", {}),
        (
            "Curriculum-Addition-v0[7-digits]",
            "Addition",
            {"domain_options": {"num_digits": 7}, "num_steps": 100},
        ),
        ("Curriculum-ClassIncremental-Digits-v0", "ClassIncremental-Digits", {}),
    ],
    "core-v0": [
        ("Curriculum-Addition-v0", "Addition", {}),
        ("Curriculum-ClassIncremental-Digits-v0", "ClassIncremental-Digits", {}),
    ],
}

#: Pre-registered effects (teachgym.bench.effects): the papers' claims on these tasks, declared before
#: they are run; ``teachgym effects DIR`` reports each as reproduced, null or reversed.
EFFECTS: tuple[Effect, ...] = (
    Effect(
        name="tscl-window-reaches-threshold-sooner-on-addition",
        paper="Matiisen et al. 2017, Teacher-Student Curriculum Learning",
        task="Curriculum-Addition-v0",
        teacher="tscl-window",
        baseline="random",
        metric="steps_to_threshold",
        direction=-1,
        seeds=tuple(range(30)),
        note="TSCL's decimal-addition result: the Window teacher brings every sub-task to the "
        "threshold in fewer steps than uniform sampling, which is `random` here (an independent draw "
        "each step); lower is better, hence -1.",
    ),
    Effect(
        name="tscl-window-beats-uniform-sampling-on-addition",
        paper="Matiisen et al. 2017, Teacher-Student Curriculum Learning",
        task="Curriculum-Addition-v0",
        teacher="tscl-window",
        baseline="random",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(30)),
        note="The same comparison on the final test accuracy after the whole budget.",
    ),
)


@dataclass(frozen=True)
class CurriculumConfig(TeachingConfig):
    """The family's settings: :class:`~teachgym.composition.TeachingConfig` plus

    Attributes:
        threshold: validation score at which a sub-task counts as reached (``steps_to_threshold``),
            in (0, 1]. Default 0.9: TSCL's 99% is one error in 100 validation items, which the
            held-out splits here (100 items per sub-task) cannot tell from noise and which the
            students do not reach reliably within a CPU budget.
        replay_fraction: fraction of each step's examples replayed from the other sub-tasks chosen
            so far (drawn uniformly among them), in [0, 1); 0 trains on the chosen sub-task alone.
        ordered: True when sub-task indices run from easiest to hardest (numbers of digits); False
            when they have no difficulty order (digit classes). Teachers that rely on the order
            (``irt-ability``) refuse unordered sub-tasks.
    """

    threshold: float = 0.9
    replay_fraction: float = 0.0
    ordered: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "Curriculum env"
        check_real(owner, "threshold", self.threshold, 0.0, 1.0, low_open=True)
        check_real(owner, "replay_fraction", self.replay_fraction, 0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class CurriculumPlan(Plan):
    """A plan (counts ``(n, K, 1)``) that remembers which sub-task each episode's teacher chose
    (engines read only ``counts``).

    Attributes:
        choice: int64 ``(n,)`` the chosen sub-task of each episode.
    """

    choice: np.ndarray


@dataclass(frozen=True)
class CurriculumState:
    """The family's own state of ``n`` episodes."""

    replay_entropy: np.ndarray  # int64 (n,): each episode's replay seed, drawn at reset
    last_task: np.ndarray  # float32 (n, K): one-hot of the last step's choice (zeros after reset)
    introduced: np.ndarray  # float32 (n, K): 1 for every sub-task chosen so far
    best: np.ndarray  # float64 (n, K): best validation score of each introduced sub-task so far
    reached: np.ndarray  # int64 (n, K): first step at which a sub-task reached threshold (0: not yet)


class Curriculum(Family):
    """## Description

    Teacher-student curriculum learning (Matiisen et al. 2017, TSCL) and class-incremental teaching
    ("Learning to Learn: How to Continuously Teach Humans and Machines", 2023). The domain's skills
    are the sub-tasks; each step the teacher picks one, the engine produces ``examples_per_step``
    training examples of it, the student trains on them and is assessed on every sub-task's
    held-out validation items. The student keeps no replay buffer, so sub-tasks that are not
    practised can be forgotten, and the order of sub-tasks matters.

    With ``replay_fraction > 0`` (the class-incremental variant), a sub-task counts as introduced
    once chosen, and ``round(replay_fraction * examples_per_step)`` of each step's examples (at most
    all but one) are replayed from the *other* introduced sub-tasks, each replayed example's sub-task
    drawn uniformly among them (exemplar replay, as is usual in class-incremental learning); the rest
    come from the chosen sub-task. The first step, with nothing introduced before, is all new
    examples.

    Variants:

    - ``Addition``: TSCL's setting, decimal addition with a sub-task per operand length (2..5
      digits, :class:`~teachgym.domains.addition.AdditionDomain`), a GRU population student
      (:class:`~teachgym.students.sequence.GRUStudent`); a sum counts only when every digit is right.
    - ``Sim``: the same question in latent form: five sub-tasks in a chain (each needs the one
      before it) and a :class:`~teachgym.students.simulated.SimulatedStudent`, for which the
      ``oracle`` reference reads the true state.
    - ``ClassIncremental-Digits``: the ten classes of scikit-learn's ``load_digits`` introduced one
      at a time to an MLP (pool engine), with half of each step's examples replayed.

    ## Action Space

    ``Discrete(K)``: the sub-task to train on for one step (every value is valid). Anything else
    (out of range, a float, a bool, an array of several values) is refused with
    ``InvalidActionError`` and nothing changes.

    ## Observation Space

    ``Dict`` of float32 arrays in [0, 1]:

    - ``profile`` ``(K,)``: validation score per sub-task (exact-match accuracy);
    - ``level_profile`` ``(K, 1)``: the same per difficulty level (one level per sub-task);
    - ``budget`` ``(1,)``: fraction of steps left;
    - ``last_task`` ``(K,)``: one-hot of the last step's choice (zeros after reset);
    - ``introduced`` ``(K,)``: 1 for every sub-task chosen so far in the episode.

    ## Rewards

    The gain in mean validation accuracy over sub-tasks (``objective="mean-gain"``), so an episode's
    return is the final minus the initial mean validation accuracy.

    ## Starting State

    A fresh student drawn from the reset seed; no sub-task introduced.

    ## Episode End

    Truncated after ``num_steps`` steps; never terminated. ``info`` carries, at every step,
    ``steps_to_threshold`` (``{sub-task: first step at which its validation score reached
    threshold}``, TSCL's measure; sub-tasks not reached yet are absent, so ``.get(name)`` is None)
    and ``forgetting`` (``{sub-task: best validation score so far minus the current one}``), both
    counted only for sub-tasks trained at least once (an untrained network's chance artefacts are
    neither progress nor memory). The last ``info`` adds ``test_profile`` and ``test_accuracy``.

    ## Arguments

    ``domain``, ``domain_options``, ``student``, ``student_options``, ``engine``, ``num_steps``,
    ``examples_per_step``, ``objective`` (see ``teachgym.composition.TeachingConfig``),
    ``threshold`` and ``replay_fraction`` (see :class:`CurriculumConfig`), and ``render_mode``
    (``None`` or ``"ansi"``). The domain must have one difficulty level per skill.

    ## Why It Matters

    The order in which sub-tasks are practised changes what is learned, for humans and machines alike
    ("Learning to Learn", 2023), and a student without replay forgets what it stops practising; TSCL's
    teachers follow each sub-task's learning progress, forgetting included.

    ## References

    * Matiisen et al. (2017), Teacher-Student Curriculum Learning (TSCL): the Addition variant.
    * "Learning to Learn: How to Continuously Teach Humans and Machines" (2023): class-incremental order.

    ## Version History

    * v0: initial version.
    """

    name = "Curriculum"
    action_kind = "choice"
    config_class = CurriculumConfig
    extra_observation_keys = ("last_task", "introduced")
    public_settings = ("ordered", "threshold", "replay_fraction")
    extra_info_keys = ("steps_to_threshold", "forgetting")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        skills = self.skills
        if skills.num_levels != 1:
            raise ConfigError(
                f"{self.name} env needs a domain with one difficulty level per skill (a sub-task per "
                f"skill); domain {self.config.domain!r} has num_levels={skills.num_levels}"
            )
        config = cast(CurriculumConfig, self.config)
        self.threshold = config.threshold
        self.replay_fraction = config.replay_fraction
        self.action_space = spaces.Discrete(skills.num_skills)

    def observation_spaces(self) -> dict[str, spaces.Space[Any]]:
        shape = (self.skills.num_skills,)
        return {
            "last_task": spaces.Box(0.0, 1.0, shape, np.float32),
            "introduced": spaces.Box(0.0, 1.0, shape, np.float32),
        }

    def reset(self, state: EpisodeState, student: Any) -> tuple[CurriculumState, bool]:
        n, num_skills = state.size, self.skills.num_skills
        # One draw from each episode's generator, after the loop's own (as the single env drew it).
        entropy = np.array([int(rng.integers(2**63)) for rng in state.episode_rng], dtype=np.int64)
        zeros = np.zeros((n, num_skills), np.float32)
        # Records start when a sub-task is first trained: an untrained network's chance artefacts
        # (e.g. one class predicted for every input scores 1.0 on it) are neither progress nor memory.
        family = CurriculumState(
            replay_entropy=entropy,
            last_task=zeros,
            introduced=zeros.copy(),
            best=np.zeros((n, num_skills)),
            reached=np.zeros((n, num_skills), np.int64),
        )
        return family, False

    def plan(self, state: EpisodeState, actions: Sequence[Any]) -> Lesson:
        choice = as_discretes(actions, cast(spaces.Discrete, self.action_space))
        n, num_skills, per_step = len(choice), self.skills.num_skills, self.examples_per_step
        rows = np.arange(n)
        counts = np.zeros((n, num_skills, 1), np.int64)
        others = state.family.introduced > 0
        others[rows, choice] = False
        # At least one example of the chosen sub-task, whatever the rounding.
        num_replay = np.where(
            others.any(axis=1), min(round(self.replay_fraction * per_step), per_step - 1), 0
        )
        entropy = state.family.replay_entropy
        for i in np.flatnonzero(num_replay):  # each episode's own generator
            # A generator that depends only on the episode's replay seed and the step, so planning
            # changes no state (a refused or failed step leaves every generator as it was).
            seed = np.random.SeedSequence(int(entropy[i]), spawn_key=(int(state.step[i]),))
            rng = np.random.default_rng(seed)
            replayed = np.flatnonzero(others[i])
            counts[i, replayed, 0] = rng.multinomial(num_replay[i], np.full(replayed.size, 1 / replayed.size))
        counts[rows, choice, 0] = per_step - num_replay
        return Lesson(CurriculumPlan(counts, choice=choice))

    def update(self, state: EpisodeState, lesson: Lesson, answers: Any, student: Any) -> CurriculumState:
        old, choice = state.family, cast(CurriculumPlan, lesson.plan).choice
        rows = np.arange(state.size)
        last_task = np.zeros_like(old.last_task)
        last_task[rows, choice] = 1.0
        introduced = old.introduced.copy()
        introduced[rows, choice] = 1.0
        trained = introduced > 0
        accuracy = np.asarray(state.profile.accuracy)
        best = np.where(trained, np.maximum(old.best, accuracy), old.best)
        # ``state.step`` is the step just taken (counted from 1), as ``steps_to_threshold`` reports it.
        newly = trained & (accuracy >= self.threshold) & (old.reached == 0)
        reached = np.where(newly, state.step[:, None], old.reached)
        return CurriculumState(old.replay_entropy, last_task, introduced, best, reached)

    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        return {"last_task": state.family.last_task.copy(), "introduced": state.family.introduced.copy()}

    def info(self, state: EpisodeState) -> dict[str, Any]:
        family, names = state.family, self.skills.names
        forgetting = family.best - np.asarray(state.profile.accuracy)
        steps_to_threshold, forgotten = [], []
        for i in range(state.size):  # dicts of sub-task names: inherently per episode
            reached = np.flatnonzero(family.reached[i])
            # In the order the sub-tasks reached the threshold (by step, then by index).
            order = reached[np.lexsort((reached, family.reached[i, reached]))]
            steps_to_threshold.append({names[k]: int(family.reached[i, k]) for k in order})
            forgotten.append(
                {names[k]: round(float(forgetting[i, k]), 6) for k in np.flatnonzero(family.introduced[i])}
            )
        return {"steps_to_threshold": steps_to_threshold, "forgetting": forgotten}


class CurriculumEnv(TeachingEnv):
    """The Curriculum family as a Gymnasium env (see :class:`Curriculum`)."""

    FAMILY = Curriculum
