"""A family's rules: its spaces, its action kind and array functions over a batch of ``n`` episodes.

A family is written once for ``n`` episodes and never overrides a phase of the loop
(:class:`teachgym.loop.TeachingLoop` owns seeds, counters, budget, assessment, reward and the shared
``info`` keys). It fills in:

- ``plan(state, actions)``: validate the ``n`` actions (refusing a bad one before anything changes)
  and turn them into a :class:`Lesson` holding the family's plan (a :class:`~teachgym.engines.Plan`
  of counts per (skill, level), or its own record);
- ``lesson(state, lesson, student)``: the training batch (and an optional probe the student answers
  before it learns); by default the engine's examples for the plan;
- ``update(state, lesson, answers, student)``: the family's own state after the step;
- ``observe(state)``, ``info(state)``, ``final_info(state, rows)``: its observation and ``info`` keys;
- ``scored(state, profile)``: what the reward and the records score (default: every skill);
- ``bonus(state, lesson)``: a reward term beyond the objective (default: none);
- ``reset(state, student)`` and ``start(state, student)``: its state at the start of the episodes,
  before and after the loop assesses the fresh students.

Every function takes and returns ``(n, ...)`` arrays: the single env calls them with ``n = 1``, the
vector env with ``n = N``. ``tests/test_family_protocol.py`` writes a whole family this way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from gymnasium import spaces

from teachgym.composition import TeachingConfig
from teachgym.config import parse_config
from teachgym.counter import EpisodeKeys
from teachgym.domains import make_domain
from teachgym.domains.base import Items
from teachgym.engines import Plan, make_engine
from teachgym.students.members import stack_rows

if TYPE_CHECKING:
    from teachgym.episode import EpisodeState


@dataclass(frozen=True)
class Lesson:
    """What a step gives the students, built before they act.

    Attributes:
        plan: the family's plan of the step for ``n`` episodes (a :class:`Plan`, or its own record).
        batch: ``(n, M)`` training items, or a list of ``n`` ``(1, M_i)`` items where sizes differ.
        probe: ``(n, M)`` items each student answers before it learns (a tutoring exercise), or None.
        reports: each episode's engine report (engines that can fail or corrupt data), or None.
    """

    plan: Any
    batch: Any = None
    probe: Any = None
    reports: Sequence[dict[str, Any]] | None = None


class Family:
    """The rules of a teaching family; subclasses set the class attributes and fill in the functions.

    Args:
        **kwargs: the env's keyword arguments, parsed into :attr:`config_class` (unknown names and
            wrong types are refused with ``ConfigError``).
    """

    #: The family's name (``"SkillList"``).
    name: ClassVar[str] = ""
    #: What the action is (one of :data:`teachgym.task.ACTION_KINDS`).
    action_kind: ClassVar[str] = ""
    #: The family's settings (a :class:`TeachingConfig` subclass).
    config_class: ClassVar[type[TeachingConfig]] = TeachingConfig
    #: Keys :meth:`observe` adds to the observation.
    extra_observation_keys: ClassVar[tuple[str, ...]] = ()
    #: Keys :meth:`info` adds to every step's ``info``, and :meth:`final_info` to the last one's.
    extra_info_keys: ClassVar[tuple[str, ...]] = ()
    extra_final_info_keys: ClassVar[tuple[str, ...]] = ()
    #: False where the student's state is hidden from the teacher (a POMDP): no profile in the
    #: observation, and the validation profile in ``info`` only on the last step.
    reveals_profile: ClassVar[bool] = True
    #: Settings (attributes of :attr:`config`) a real teacher of the task knows.
    public_settings: ClassVar[tuple[str, ...]] = ()
    #: True where the action is the training data itself: teachers are lent the domain's generator.
    teacher_writes_data: ClassVar[bool] = False
    #: False where the family draws from each episode's generators itself (one episode at a time), so
    #: that it cannot run on counter-based random numbers (``random_numbers="counter"``).
    counter_draws: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        self.config = parse_config(self.config_class, kwargs, owner=f"{self.name} env")
        self.domain = make_domain(self.config.domain, self.config.domain_options)
        self.engine = make_engine(self.config.engine, self.domain, self.config.engine_options)
        self.skills = self.domain.skills
        self.num_steps: int = self.config.num_steps
        #: Training examples per step (1 where a step is one item or exercise).
        self.examples_per_step: int = self.config.examples_per_step
        #: True where the reward is the episode's whole gain, given on its last step (a post-test).
        self.reward_at_end = False
        self.action_space: spaces.Space[Any] = spaces.Discrete(1)

    # ------------------------------------------------------------------ set-up
    def observation_spaces(self) -> dict[str, spaces.Space[Any]]:
        """The spaces of the keys :meth:`observe` adds (named in :attr:`extra_observation_keys`)."""
        return {}

    def check_student(self, student: Any) -> None:
        """Refuse (``ConfigError``/``UnsupportedError``) a student the family cannot teach."""

    # ------------------------------------------------------------------ array functions
    def reset(self, state: EpisodeState, student: Any) -> tuple[Any, bool]:
        """The family's state for the fresh episodes, and whether it taught the students (a warm-up:
        the loop then assesses them again)."""
        return None, False

    def start(self, state: EpisodeState, student: Any) -> Any:
        """The family's state once the loop has assessed the fresh (or warmed-up) students: where a
        family draws what its first observation shows (the Intervention stream's first item)."""
        return state.family

    def plan(self, state: EpisodeState, actions: Sequence[Any]) -> Lesson:
        """Validate the ``n`` actions and plan the step. Must not change anything; raise
        :class:`~teachgym.errors.InvalidActionError` on bad input."""
        raise NotImplementedError

    def lesson(self, state: EpisodeState, lesson: Lesson, student: Any) -> Lesson:
        """The lesson with its training batch: by default the engine's examples for the plan, each
        episode's drawn from its own generator (or its counter-based stream at its step)."""
        return generate(self.engine, lesson, state.engine_rng, state.step)

    def examples(self, lesson: Lesson) -> np.ndarray:
        """Training examples each episode spends this step, int64 ``(n,)`` (what the students train on:
        an engine may deliver fewer than planned)."""
        return batch_sizes(lesson.batch)

    def bonus(self, state: EpisodeState, lesson: Lesson) -> np.ndarray:
        """A reward term ``(n,)`` beyond the objective (summed into the episode's progress)."""
        return np.zeros(state.size)

    def scored(self, state: EpisodeState, profile: Any) -> Any:
        """The part of ``profile`` the reward and the records score (default: all of it)."""
        return profile

    def update(self, state: EpisodeState, lesson: Lesson, answers: np.ndarray | None, student: Any) -> Any:
        """The family's state after a step (``state`` has the step's counters and profile already);
        ``answers`` are the students' answers to the probe."""
        return state.family

    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        """The family's observation keys, ``(n, ...)`` arrays."""
        return {}

    def info(self, state: EpisodeState) -> dict[str, Any]:
        """The family's ``info`` keys of every step: ``n`` values each (an array or a list)."""
        return {}

    def final_info(self, state: EpisodeState, rows: np.ndarray) -> dict[str, Any]:
        """The family's last-step ``info`` keys, filled in for the episodes ``rows``."""
        return {}

    def privileged(self, current: Callable[[], EpisodeState], index: int, student: Any) -> dict[str, Any]:
        """Hidden state of episode ``index`` a privileged reference may declare, beyond the student
        and the domain; ``current()`` is the loop's state at the time of the call."""
        return {}

    def describe_item(self, state: EpisodeState, index: int) -> str:
        """A line for ``render()`` about episode ``index`` beyond the profile ("" for none)."""
        return ""


def batch_sizes(batch: Any) -> np.ndarray:
    """Training examples per episode of an ``(n, M)`` batch or a list of ``n`` ``(1, M_i)`` ones."""
    if isinstance(batch, (list, tuple)):
        return np.array([len(b) for b in batch], dtype=np.int64)
    return np.full(batch.skill.shape[0], len(batch), dtype=np.int64)


def generate(
    engine: Any, lesson: Lesson, rngs: Sequence[np.random.Generator] | EpisodeKeys, step: np.ndarray
) -> Lesson:
    """``lesson`` with the engine's training items for its plan (counts ``(n, K, L)``): episode ``i``'s
    drawn from ``rngs[i]``, exactly as a single env draws them, or from its counter-based stream at
    its ``step`` ``(n,)``."""
    plan: Plan = lesson.plan
    if isinstance(rngs, EpisodeKeys):
        return Lesson(plan=plan, batch=engine.generate_each(plan, rngs.at(step)), probe=lesson.probe)
    each = getattr(engine, "generate_each", None)
    if each is not None:  # engines that draw every row at once (each from its own generator)
        return Lesson(plan=plan, batch=each(plan, list(rngs)), probe=lesson.probe)
    batches, reports = [], []
    for i, rng in enumerate(rngs):
        batches.append(engine.generate(Plan(plan.counts[i : i + 1]), rng))
        report = getattr(engine, "last_report", None)
        if report is not None:
            reports.append(dict(report))
    batch: Items | list[Items] = stack_rows(batches) if len({len(b) for b in batches}) == 1 else batches
    return Lesson(plan=lesson.plan, batch=batch, probe=lesson.probe, reports=reports or None)
