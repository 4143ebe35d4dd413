"""TeachingEnv: one episode of a family's teaching loop, as a Gymnasium env.

``step(action)``: the family turns the action into a plan; the engine turns the plan into a batch of
training examples; the student learns from it and is assessed on the held-out validation split; the
objective turns the previous and new profile into the reward. The loop
(:class:`teachgym.loop.TeachingLoop`) does all of it on a batch of episodes; this env is the batch
of one, and the batched vector env (:mod:`teachgym.vector`) runs the same loop on ``N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from teachgym.errors import ConfigError, EpisodeStateError, UnsupportedError
from teachgym.family import Family
from teachgym.loop import EpisodeState, TeachingLoop, info_row
from teachgym.skills import Profile
from teachgym.task import ACTION_KINDS, ExampleWriter, PrivilegedView, TaskDescription

#: Family attributes an env class shows as its own (read by the registry of teachers and the docs).
_FAMILY_ATTRIBUTES = (
    "action_kind",
    "extra_observation_keys",
    "extra_info_keys",
    "extra_final_info_keys",
    "reveals_profile",
    "public_settings",
    "teacher_writes_data",
)


class TeachingEnv(gym.Env[dict[str, np.ndarray], Any]):
    """A Gymnasium env of one family: ``class SkillListEnv(TeachingEnv): FAMILY = SkillList``.

    Observation keys shared by all families:

    - ``profile``: float32 ``(K,)`` validation accuracy per skill, in [0, 1].
    - ``level_profile``: float32 ``(K, L)`` validation accuracy per skill and difficulty level.
    - ``budget``: float32 ``(1,)`` fraction of the example budget left, in [0, 1].

    Splits: the engine's training items, the ``validation`` items (observed through the profile) and
    the ``test`` items are disjoint; the test profile is read once at reset and once at the end and
    appears in ``info`` only when the episode ends (``info["test_profile"]``). Engines that can fail
    or corrupt data (the LLM and noisy-teacher engines) report on each step in
    ``info["engine_report"]``.

    Args:
        render_mode: None or ``"ansi"``.
        **kwargs: the family's settings (see its ``config_class``).
    """

    #: The family's rules (a :class:`~teachgym.family.Family` subclass).
    FAMILY: ClassVar[type[Family]] = Family
    family: ClassVar[str] = ""
    action_kind: ClassVar[str] = ""
    extra_observation_keys: ClassVar[tuple[str, ...]] = ()
    extra_info_keys: ClassVar[tuple[str, ...]] = ()
    extra_final_info_keys: ClassVar[tuple[str, ...]] = ()
    reveals_profile: ClassVar[bool] = True
    public_settings: ClassVar[tuple[str, ...]] = ()
    teacher_writes_data: ClassVar[bool] = False
    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        rules = cls.FAMILY
        cls.family = rules.name
        for name in _FAMILY_ATTRIBUTES:
            setattr(cls, name, getattr(rules, name))
        if rules.action_kind not in ACTION_KINDS:
            raise TypeError(
                f"{rules.__name__}.action_kind={rules.action_kind!r}; a family declares one of {ACTION_KINDS}"
            )
        if cls.__doc__ is None:
            cls.__doc__ = rules.__doc__

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode={render_mode!r} is not supported; expected None or one of "
                f"{self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.rules = self.FAMILY(**kwargs)
        self.loop = TeachingLoop(self.rules, 1)
        self.rules.check_student(self.loop.student)
        self.config = self.rules.config
        self.domain, self.engine, self.student = self.rules.domain, self.rules.engine, self.loop.student
        self.skills = self.domain.skills
        self.num_steps = self.loop.num_steps
        self.examples_per_step = self.rules.examples_per_step
        self.objective = self.loop.objective
        self.action_space = self.rules.action_space
        self.observation_space = observation_space(self.rules)  # type: ignore[assignment]
        self.state: EpisodeState | None = None

    def __getattr__(self, name: str) -> Any:
        """The family's own public helpers and settings, as attributes of the env (``env.action_of``
        for ``env.rules.action_of``, ``env.num_interventions``, ``env.prior_examples``)."""
        rules = self.__dict__.get("rules")
        if rules is not None and not name.startswith("_"):
            for owner in (rules, rules.config):
                if hasattr(owner, name):
                    return getattr(owner, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    # ------------------------------------------------------------------ loop
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if options:
            raise ConfigError(f"reset() takes no options in this env, got {options!r}")
        super().reset(seed=seed)
        self.state, observation, info = self.loop.reset([None], previous=[self.np_random])
        return _row(observation), info_row(info, 0, self.skills.names)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise EpisodeStateError("step() called before reset()")
        self.state, out = self.loop.step(self.state, [action])
        info = info_row(out.info, 0, self.skills.names)
        return (
            _row(out.observation),
            float(out.reward[0]),
            bool(out.terminated[0]),
            bool(out.truncated[0]),
            info,
        )

    # ------------------------------------------------------------------ views
    def _running(self) -> EpisodeState:
        """The state, its validation profile taken where a step skipped it (``EpisodeState.graded``)."""
        if self.state is None:
            raise EpisodeStateError("no profile before reset()")
        self.state = self.loop.graded(self.state)
        return self.state

    @property
    def profile(self) -> Profile:
        """The current validation profile of the student."""
        return self._running().profile.member(0)

    @property
    def step_count(self) -> int:
        """Steps taken in the episode."""
        return int(self._running().step[0])

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
        """The validation accuracy the reward and the records track: the mean over the skills the
        family scores. For runners and logs; in families that hide the student's state, teachers must
        not read it."""
        return float(self.loop.mean_accuracy(self._running())[0])

    def progress(self) -> float:
        """The quantity whose per-step change the reward is, so that an episode's return is its final
        minus its initial value (see :meth:`TeachingLoop.progress`)."""
        return float(self.loop.progress(self._running())[0])

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            return None
        if self.state is None:
            return "(not reset)\n"
        steps, examples = int(self.state.step[0]), int(self.state.examples_used[0])
        extra = self.rules.describe_item(self.state, 0)
        extra = f"{extra}\n" if extra else ""
        if not (self.reveals_profile or steps >= self.num_steps):
            # The student's state is hidden in this family: the profile is shown once the episode ends.
            return f"step {steps}/{self.num_steps}  examples {examples}\n" + extra
        profile = self.profile
        width = max(len(n) for n in self.skills.names)
        lines = [
            f"step {steps}/{self.num_steps}  mean accuracy {float(profile.mean):.3f}  examples {examples}"
        ]
        for name, accuracy in zip(self.skills.names, profile.accuracy, strict=True):
            bar = "#" * round(20 * float(accuracy))
            lines.append(f"  {name:<{width}} {float(accuracy):5.3f} |{bar:<20}|")
        return "\n".join(lines) + "\n" + extra

    # ------------------------------------------------------------------ what teachers are given
    @classmethod
    def observation_keys(cls) -> tuple[str, ...]:
        """The keys of the family's observation, known without building an env: the shared ones
        (``profile`` and ``level_profile`` where :attr:`reveals_profile`, and ``budget``) and
        :attr:`extra_observation_keys`."""
        shared = ("profile", "level_profile", "budget") if cls.reveals_profile else ("budget",)
        return shared + tuple(cls.extra_observation_keys)

    def describe(self) -> TaskDescription:
        """What a real teacher of this task knows, read-only (see :func:`describe`)."""
        return describe(self.rules, self.observation_space, self.spec.id if self.spec is not None else None)

    def privileged(self) -> dict[str, Any]:
        """Every piece of hidden state a privileged reference teacher may declare, by name: the live
        student and domain, and the family's own. Teachers never call this; they receive the part
        they declared through :meth:`privileged_view`."""
        family = self.rules.privileged(self._running, 0, self.student)
        return {"student": self.student, "domain": self.domain, **family}

    def privileged_view(self, fields: Sequence[str]) -> PrivilegedView:
        """The hidden state named in ``fields`` (keys of :meth:`privileged`) and nothing else, for a
        reference teacher registered with ``privileged=fields`` (see :func:`privileged_view`)."""
        return privileged_view(self.family, self.privileged(), fields)


def describe(rules: Family, observation_space: spaces.Space[Any], env_id: str | None) -> TaskDescription:
    """What a real teacher of a family's task knows, read-only: spaces, skill names and levels, the
    budget, the prerequisite graph where the observation shows it, the family's public settings,
    the domain's training pool where it has one, and its generator of training examples where the
    teacher writes the data. Teachers are built from this, never from the env; no validation or test
    item is in it."""
    domain, skills = rules.domain, rules.skills
    shows_prerequisites = "prerequisites" in getattr(observation_space, "spaces", {})
    train_pool = getattr(domain, "train_pool", None)
    return TaskDescription(
        family=rules.name,
        action_kind=rules.action_kind,
        observation_space=observation_space,
        action_space=rules.action_space,
        skill_names=skills.names,
        num_levels=skills.num_levels,
        num_steps=rules.num_steps,
        examples_per_step=rules.examples_per_step,
        env_id=env_id,
        prerequisites=skills.prerequisites if shows_prerequisites else {},
        settings={name: getattr(rules.config, name) for name in rules.public_settings},
        training_pool=train_pool() if callable(train_pool) else None,
        example_writer=ExampleWriter(domain.generate) if rules.teacher_writes_data else None,  # type: ignore[attr-defined]
    )


def privileged_view(family: str, hidden: dict[str, Any], fields: Sequence[str]) -> PrivilegedView:
    """The ``hidden`` state named in ``fields`` and nothing else. Reading it breaks the teaching
    contract: results of teachers that use it are references, never ranked entries.

    Raises:
        UnsupportedError: a name the family has no hidden state for.
    """
    unknown = [name for name in fields if name not in hidden]
    if unknown:
        raise UnsupportedError(
            f"the {family} env has no hidden state {unknown}; expected any of {sorted(hidden)}"
        )
    return PrivilegedView({name: hidden[name] for name in fields})


def observation_space(rules: Family) -> spaces.Dict:
    """One episode's observation space of a family: the loop's shared keys and the family's own."""
    skills = rules.skills
    shared: dict[str, spaces.Space[Any]] = {"budget": spaces.Box(0.0, 1.0, (1,), np.float32)}
    if rules.reveals_profile:
        shared = {
            "profile": spaces.Box(0.0, 1.0, (skills.num_skills,), np.float32),
            "level_profile": spaces.Box(0.0, 1.0, (skills.num_skills, skills.num_levels), np.float32),
            **shared,
        }
    extra = rules.observation_spaces()
    if sorted(extra) != sorted(rules.extra_observation_keys):
        raise TypeError(
            f"{type(rules).__name__}.observation_spaces() gives {sorted(extra)}, but its "
            f"extra_observation_keys declare {sorted(rules.extra_observation_keys)}"
        )
    return spaces.Dict({**shared, **extra})


def _row(observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Episode 0's observation out of a batch of one."""
    return {key: value[0] for key, value in observation.items()}
