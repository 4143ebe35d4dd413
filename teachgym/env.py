"""TeachingEnv: the one teaching loop that every family fills in with small hooks.

``step(action)``: the family turns the action into a :class:`Plan`; the engine turns the plan into a
batch of training examples; the student learns from it and is assessed on the held-out validation
split; the objective turns the previous and new profile into the reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from teachgym.domains.base import Domain, Items
from teachgym.engines import Engine, Plan, allocate
from teachgym.errors import ConfigError, EpisodeStateError, UnsupportedError
from teachgym.objectives import Cost, Objective, TargetSkillGain, make_objective
from teachgym.skills import Profile, profile_from_correct
from teachgym.students.base import Student
from teachgym.task import ACTION_KINDS, ExampleWriter, PrivilegedView, TaskDescription


@dataclass(frozen=True)
class Lesson:
    """What a step gives the student: built by the env before the student acts.

    Attributes:
        plan: the family's plan of the step (a :class:`Plan`, or the family's own record).
        batch: ``(1, M)`` training items the student learns from (``M`` may be 0).
        probe: items the student answers before it learns, or None.
    """

    plan: Any
    batch: Any
    probe: Any = None


class TeachingEnv(gym.Env[dict[str, np.ndarray], Any]):
    """Template of every teaching environment. A family implements :meth:`_plan` (validate the action,
    turn it into a plan) and fills in only the hooks it needs: :meth:`_batch` (the training data of
    a plan, when it is not the engine's),
    :meth:`_extra_spaces` / :meth:`_extra_observation` (observation keys), :meth:`_after_reset` /
    :meth:`_after_step` (its own state), :meth:`_extra_info` / :meth:`_extra_final_info` (declared
    ``info`` keys), :meth:`mean_accuracy` (what is scored, e.g. the tasks seen so far) and
    :meth:`progress` (what the return telescopes to, when the reward has parts beyond accuracy).

    Observation keys shared by all families:

    - ``profile``: float32 ``(K,)`` validation accuracy per skill, in [0, 1].
    - ``level_profile``: float32 ``(K, L)`` validation accuracy per skill and difficulty level.
    - ``budget``: float32 ``(1,)`` fraction of the example budget left, in [0, 1].

    Splits: the engine's training items, the ``validation`` items (observed through the profile) and
    the ``test`` items are disjoint; the test profile is read once at reset and once at the end and
    appears in ``info`` only when the episode ends (``info["test_profile"]``). Engines that can fail
    or corrupt data (the LLM and noisy-teacher engines) report on each step in
    ``info["engine_report"]`` (their ``last_report``).
    """

    family: ClassVar[str] = ""
    #: What the action is (one of :data:`teachgym.task.ACTION_KINDS`): teachers declare the kinds they
    #: handle, so a new family of a known kind gets them without being named anywhere.
    action_kind: ClassVar[str] = ""
    #: Keys the family adds to the observation (through :meth:`_extra_spaces`); with the shared ones
    #: they make :meth:`observation_keys`, which teachers' ``needs`` are matched against.
    extra_observation_keys: ClassVar[tuple[str, ...]] = ()
    #: Keys a family adds to ``info`` on every step (through :meth:`_extra_info`); the tests check that
    #: ``info`` holds nothing else, so that no held-out item reaches the teacher unnoticed.
    extra_info_keys: ClassVar[tuple[str, ...]] = ()
    #: Keys a family adds to ``info`` only on the last step (through :meth:`_extra_final_info`).
    extra_final_info_keys: ClassVar[tuple[str, ...]] = ()
    #: False for families where the student's state is hidden from the teacher (a POMDP, e.g.
    #: tutoring): the observation then has no ``profile``/``level_profile``, and ``info`` carries the
    #: validation profile (``profile``, ``mean_accuracy``) only on the episode's last step. Runners
    #: log per-step accuracy from :attr:`profile`, which teachers must not read.
    reveals_profile: ClassVar[bool] = True
    #: The family's settings (attributes of ``self.config``) that a real teacher of the task knows,
    #: handed to teachers in :meth:`describe` (e.g. the intervention budget).
    public_settings: ClassVar[tuple[str, ...]] = ()
    #: True where the action is the training data itself (OpenEnded): :meth:`describe` then lends
    #: teachers the domain's generator of fresh training examples.
    teacher_writes_data: ClassVar[bool] = False
    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        domain: Domain,
        student: Student,
        engine: Engine,
        num_steps: int,
        examples_per_step: int,
        objective: str | Objective = "mean-gain",
        prior_examples: int = 0,
        prior_skill_fraction: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode={render_mode!r} is not supported; expected None or one of "
                f"{self.metadata['render_modes']}"
            )
        if student.num_members != 1:
            raise ConfigError(f"a single env holds one student, got num_members={student.num_members}")
        self.domain = domain
        self.student = student
        self.engine = engine
        self.skills = domain.skills
        self.num_steps = num_steps
        self.examples_per_step = examples_per_step
        self.prior_examples = prior_examples
        self.prior_skill_fraction = prior_skill_fraction
        self.objective = make_objective(objective)
        self.render_mode = render_mode
        self._validation: Items = domain.heldout("validation")
        self._test: Items = domain.heldout("test")
        num_skills, num_levels = self.skills.num_skills, self.skills.num_levels
        shared: dict[str, spaces.Space[Any]] = {"budget": spaces.Box(0.0, 1.0, (1,), np.float32)}
        if self.reveals_profile:
            shared = {
                "profile": spaces.Box(0.0, 1.0, (num_skills,), np.float32),
                "level_profile": spaces.Box(0.0, 1.0, (num_skills, num_levels), np.float32),
                **shared,
            }
        if self.action_kind not in ACTION_KINDS:
            raise TypeError(
                f"{type(self).__name__}.action_kind={self.action_kind!r}; a family declares one of "
                f"{ACTION_KINDS}"
            )
        extra = self._extra_spaces()
        if sorted(extra) != sorted(self.extra_observation_keys):
            raise TypeError(
                f"{type(self).__name__}._extra_spaces() gives {sorted(extra)}, but its "
                f"extra_observation_keys declare {sorted(self.extra_observation_keys)}"
            )
        self.observation_space = spaces.Dict({**shared, **extra})  # type: ignore[assignment]
        self._profile: Profile | None = None
        self._step_count = 0

    # ------------------------------------------------------------------ hooks
    def _plan(self, action: Any) -> Plan:
        """Validate ``action`` and turn it into a plan. Must not change any state; raise
        :class:`~teachgym.errors.InvalidActionError` on bad input."""
        raise NotImplementedError

    def _batch(self, plan: Plan) -> Items:
        """The ``(1, M)`` training batch of a step: by default, the engine's examples for ``plan``
        (families whose action is the data itself return it here)."""
        return self.engine.generate(plan, self._engine_rng)

    def _extra_spaces(self) -> dict[str, spaces.Space[Any]]:
        return {}

    def _extra_observation(self) -> dict[str, np.ndarray]:
        return {}

    def _after_step(self, plan: Plan) -> None:
        """Record what the family's observation needs about the step just taken."""

    def _extra_info(self) -> dict[str, Any]:
        """The family's own ``info`` entries, named in :attr:`extra_info_keys` (JSON-friendly)."""
        return {}

    def _extra_final_info(self) -> dict[str, Any]:
        """The family's own last-step ``info`` entries, named in :attr:`extra_final_info_keys`."""
        return {}

    # ------------------------------------------------------------------ loop
    # ``reset`` and ``step`` are each three phases: the env's own work before the student (checks,
    # plan, batch), the student's work (reset or train, then answer held-out items), and the env's
    # work after. A batched vector env (teachgym.vector) runs the middle phase for all its envs at
    # once on one population and the other two per env, so both share this code.
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        student_seed = self._begin_reset(seed, options)
        self.student.reset(student_seed)
        return self._end_reset(self._assess(self._validation), self._assess(self._test))

    def _begin_reset(self, seed: int | None, options: dict[str, Any] | None) -> np.random.SeedSequence:
        """Seed the env and its engine; return the seed of the fresh student."""
        if options:
            raise ConfigError(f"reset() takes no options in this env, got {options!r}")
        super().reset(seed=seed)
        root = np.random.SeedSequence(int(self.np_random.integers(2**63)))
        # spawn(3)'s first two children are spawn(2)'s: ids without prior knowledge are unchanged.
        student_seed, engine_seed, prior_seed = root.spawn(3)
        self._engine_rng = np.random.default_rng(engine_seed)
        self._prior_rng = np.random.default_rng(prior_seed)
        self._step_count = 0
        self._examples_used = 0
        self._compute_used = 0
        return student_seed

    def _end_reset(self, validation: Profile, test: Profile) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Finish a reset from the fresh student's one-member profiles on the validation and test splits."""
        if self.prior_examples:
            self._learn_prior()
            validation, test = self._assess(self._validation), self._assess(self._test)
        self._profile = validation
        self._initial_profile = self._profile
        self._initial_test_profile = test
        # Call the objective once now, so that a broken one fails here and not after a student has
        # already learned from a step (which would leave that step half-applied).
        self._reward(self._profile, self._profile, Cost(np.zeros(1), np.zeros(1)))
        self._after_reset()
        return self._observation(), self._info()

    def _after_reset(self) -> None:
        """Reset what the family's observation needs (called at the end of reset)."""

    def _learn_prior(self) -> None:
        """Prior knowledge: the fresh student learns ``prior_examples`` examples spread evenly over a
        random subset of ``prior_skill_fraction`` of the skills (all their levels), drawn from the
        reset seed alone, so every teacher meets the same student: heterogeneous starting profiles,
        the missing skills that STAT targets. Not counted in ``examples_used`` or ``compute_used``."""
        num_skills, num_levels = self.skills.num_skills, self.skills.num_levels
        known = self._prior_rng.choice(
            num_skills, max(1, round(self.prior_skill_fraction * num_skills)), replace=False
        )
        weights = np.zeros((1, num_skills, num_levels))
        weights[0, known] = 1.0
        plan = Plan(allocate(weights, self.prior_examples))
        self.student.learn(self.engine.generate(plan, self._prior_rng))

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        lesson = self._lesson(self._check_action(action))
        if lesson.probe is not None:
            self._on_probe(lesson, self.student.attempt(lesson.probe))
        compute = self.student.learn(lesson.batch)
        return self._end_step(lesson, compute, self._assess(self._validation))

    def _check_action(self, action: Any) -> Any:
        """Check the env's state and ``action``; return the step's plan. Raises before any change
        (InvalidActionError for a bad action, EpisodeStateError out of order)."""
        if self._profile is None:
            raise EpisodeStateError("step() called before reset()")
        if self._step_count >= self.num_steps:
            raise EpisodeStateError("the episode's budget is spent; call reset() first")
        return self._plan(action)

    def _lesson(self, plan: Any) -> Lesson:
        """The step's lesson for a checked ``plan``: its training batch and probe."""
        batch = self._batch(plan)
        return Lesson(plan=plan, batch=batch, probe=self._probe(batch))

    def _probe(self, batch: Items) -> Items | None:
        """Items the student answers before it learns (e.g. a tutoring exercise), or None."""
        return None

    def _on_probe(self, lesson: Lesson, answers: np.ndarray) -> None:
        """Record the student's ``(1, M)`` answers to the lesson's probe."""

    def _end_step(
        self, lesson: Lesson, compute: int, profile: Profile
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Finish a step from the compute its training took and the student's new one-member
        validation profile."""
        examples = len(lesson.batch)  # what the student trains on (an engine may deliver fewer than planned)
        cost = Cost(examples=np.array([examples]), compute=np.array([compute]))
        reward = self._reward(self._profile, profile, cost)  # type: ignore[arg-type]
        self._profile = profile
        self._step_count += 1
        self._examples_used += examples
        self._compute_used += compute
        self._after_step(lesson.plan)
        truncated = self._step_count >= self.num_steps
        info = self._info(final=truncated)
        return self._observation(), reward, False, truncated, info

    def _assess(self, items: Items) -> Profile:
        """The student's answers to held-out ``items``, graded by the domain."""
        return self._profile_of(items, self.student.attempt(items))

    def _profile_of(self, items: Items, answers: np.ndarray) -> Profile:
        """The profile of ``answers`` to held-out ``items``, graded by the domain."""
        correct = self.domain.grade(items, answers)
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    def _reward(self, previous: Profile, current: Profile, cost: Cost) -> float:
        """The objective's value for member 0, checked: a scalar or ``(P,)`` of finite numbers."""
        value = np.asarray(self.objective(previous, current, cost), dtype=np.float64).reshape(-1)
        if value.size not in (1, self.student.num_members) or not np.all(np.isfinite(value)):
            raise ConfigError(
                f"objective {self.objective!r} returned {value.tolist()}; expected a finite scalar or "
                f"one finite value per population member ({self.student.num_members})"
            )
        return float(value[0])

    # ------------------------------------------------------------------ views
    @property
    def profile(self) -> Profile:
        """The current validation profile of the student (single member)."""
        if self._profile is None:
            raise EpisodeStateError("no profile before reset()")
        return self._profile.member(0)

    def _observation(self) -> dict[str, np.ndarray]:
        budget = 1.0 - self._step_count / self.num_steps
        observation = {"budget": np.array([budget], dtype=np.float32)}
        if self.reveals_profile:
            profile = self.profile
            observation["profile"] = profile.accuracy.astype(np.float32)
            observation["level_profile"] = profile.level_accuracy.astype(np.float32)
        return {**observation, **self._extra_observation()}

    #: Smallest reference-minus-random gap (accuracy) that :meth:`score` divides by: below it the
    #: reference does not beat random on the task and the normalized score would be noise.
    MIN_SCORE_RANGE: ClassVar[float] = 0.01

    @classmethod
    def score(cls, test_accuracy: float, random: float, reference: float) -> float:
        """An episode's normalized score (bsuite-style, unitless): 0 at the ``random`` teacher's mean
        test accuracy on the task, 1 at the family's reference teacher's (``REFERENCES`` in the family
        module), linear in test accuracy and not clipped: below 0 for an episode worse than random's
        mean, above 1 for one better than the reference's. Clipping would turn every episode beyond
        an anchor into a tie and bias means and intervals, so statistics use the raw value; a display
        may clip, and must say so. Families whose scale is not linear in test accuracy override this."""
        span = max(reference - random, cls.MIN_SCORE_RANGE)
        return float((test_accuracy - random) / span)

    def mean_accuracy(self) -> float:
        """The validation accuracy the reward and the records track: the mean over skills (families
        that score a subset, e.g. the tasks seen so far, override this). For runners and logs; in
        families that hide the student's state, teachers must not read it."""
        return float(self.profile.mean)

    def progress(self) -> float:
        """The quantity whose per-step change the reward is, so that an episode's return is its final
        minus its initial value. With the default objective that is :meth:`mean_accuracy`; families
        whose reward has further parts (e.g. the current item's correctness) override it."""
        if isinstance(self.objective, TargetSkillGain):  # SOAR-style: the return is the subset's gain
            return float(self.profile.accuracy[list(self.objective.skills)].mean())
        return self.mean_accuracy()

    def _info(self, final: bool = False) -> dict[str, Any]:
        info: dict[str, Any] = {"step": self._step_count, "examples_used": self._examples_used}
        if self.reveals_profile or final:
            # With the state hidden, compute (how much the student trained) can reveal its answers too.
            info.update(compute_used=self._compute_used)
            info.update(profile=self.profile.named(), mean_accuracy=self.mean_accuracy())
        report = getattr(self.engine, "last_report", None)
        if report is not None:  # engines that can fail or corrupt (LLM, noisy teacher) say how the step went
            info["engine_report"] = dict(report)
        info.update(self._extra_info())
        if final:
            info.update(self._final_info())
            info.update(self._extra_final_info())
        return info

    def _final_info(self) -> dict[str, Any]:
        test = self._assess(self._test).member(0)
        initial_test = self._initial_test_profile.member(0)
        return {
            "test_profile": test.named(),
            "test_accuracy": float(test.mean),
            "initial_test_accuracy": float(initial_test.mean),
            "initial_accuracy": float(self._initial_profile.member(0).mean),
            "validation_test_gap": float(self.profile.mean - test.mean),
        }

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            return None
        if self._profile is None:
            return "(not reset)\n"
        if not (self.reveals_profile or self._step_count >= self.num_steps):
            # The student's state is hidden in this family: the profile is shown once the episode ends.
            return f"step {self._step_count}/{self.num_steps}  examples {self._examples_used}\n"
        profile = self.profile
        width = max(len(n) for n in self.skills.names)
        lines = [
            f"step {self._step_count}/{self.num_steps}  mean accuracy {float(profile.mean):.3f}  "
            f"examples {self._examples_used}"
        ]
        for name, accuracy in zip(self.skills.names, profile.accuracy, strict=True):
            bar = "#" * round(20 * float(accuracy))
            lines.append(f"  {name:<{width}} {float(accuracy):5.3f} |{bar:<20}|")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ what teachers are given
    @classmethod
    def observation_keys(cls) -> tuple[str, ...]:
        """The keys of the family's observation, known without building an env: the shared ones
        (``profile`` and ``level_profile`` where :attr:`reveals_profile`, and ``budget``) and
        :attr:`extra_observation_keys`."""
        shared = ("profile", "level_profile", "budget") if cls.reveals_profile else ("budget",)
        return shared + tuple(cls.extra_observation_keys)

    def describe(self) -> TaskDescription:
        """What a real teacher of this task knows, read-only: spaces, skill names and levels, the
        budget, the prerequisite graph where the observation shows it, the family's
        :attr:`public_settings`, the domain's training pool where it has one, and its generator of
        training examples where :attr:`teacher_writes_data`. Teachers are built from this, never
        from the env; no validation or test item is in it."""
        config = getattr(self, "config", self)
        shows_prerequisites = "prerequisites" in getattr(self.observation_space, "spaces", {})
        train_pool = getattr(self.domain, "train_pool", None)
        return TaskDescription(
            family=self.family,
            action_kind=self.action_kind,
            observation_space=self.observation_space,
            action_space=self.action_space,
            skill_names=self.skills.names,
            num_levels=self.skills.num_levels,
            num_steps=self.num_steps,
            examples_per_step=self.examples_per_step,
            env_id=self.spec.id if self.spec is not None else None,
            prerequisites=self.skills.prerequisites if shows_prerequisites else {},
            settings={name: getattr(config, name) for name in self.public_settings},
            training_pool=train_pool() if callable(train_pool) else None,
            example_writer=ExampleWriter(self.domain.generate) if self.teacher_writes_data else None,  # type: ignore[attr-defined]
        )

    def privileged(self) -> dict[str, Any]:
        """Every piece of hidden state a privileged reference teacher may declare, by name: here the
        live student and domain (families add theirs). Teachers never call this; they receive the
        part they declared through :meth:`privileged_view`."""
        return {"student": self.student, "domain": self.domain}

    def privileged_view(self, fields: Sequence[str]) -> PrivilegedView:
        """The hidden state named in ``fields`` (keys of :meth:`privileged`) and nothing else, for a
        reference teacher registered with ``privileged=fields``. Reading it breaks the teaching
        contract: results of teachers that use it are references, never ranked entries.

        Raises:
            UnsupportedError: a name this family has no hidden state for.
        """
        hidden = self.privileged()
        unknown = [name for name in fields if name not in hidden]
        if unknown:
            raise UnsupportedError(
                f"the {self.family} env has no hidden state {unknown}; expected any of {sorted(hidden)}"
            )
        return PrivilegedView({name: hidden[name] for name in fields})
