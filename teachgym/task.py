"""What a teacher may know about a task: :class:`TaskDescription`, and :class:`PrivilegedView`, the
hidden state a privileged reference teacher declares.

A teacher is built from a task's description (``TeachingEnv.describe()``), never from the env
object: the description holds what a real teacher of the task knows (its spaces, skill names,
levels, budget, the family's public settings and, where the family lends it, training data) and
nothing else, read-only. A reference teacher that reads hidden state (the live student, the truth
about the current item) declares it and receives only that, through a :class:`PrivilegedView`
(``TeachingEnv.privileged_view(fields)``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.domains.base import Items
from teachgym.errors import ConfigError, UnsupportedError


class ExampleWriter:
    """Fresh *training* examples of a task's domain, lent to teachers whose action is the training
    data itself (the OpenEnded family): the domain's generator, which never produces a held-out item.

    It exposes :meth:`generate` and nothing else of the domain.
    """

    __slots__ = ("_generate",)
    _generate: Callable[[np.ndarray, np.ndarray, np.random.Generator], Any]

    def __init__(self, generate: Callable[[np.ndarray, np.ndarray, np.random.Generator], Any]) -> None:
        object.__setattr__(self, "_generate", generate)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"an ExampleWriter is read-only; cannot set {name!r}")

    def generate(self, skill: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> Any:
        """Fresh training examples for the ``(skill, level)`` pairs (equal 1-D int arrays), drawn
        from ``rng`` (the teacher's own generator)."""
        return self._generate(skill, level, rng)


#: What a family's action is, and so which teachers can act on it (``TeachingEnv.action_kind``):
#: ``allocation`` (a Box of weights over (skill, level) cells), ``choice`` (a Discrete pick of a
#: sub-task or exercise), ``intervention`` (a Discrete move on the item at hand, under a budget) and
#: ``text`` (the training examples themselves).
ACTION_KINDS: tuple[str, ...] = ("allocation", "choice", "intervention", "text")


@dataclass(frozen=True, eq=False)
class TaskDescription:
    """What a real teacher of a task knows, read-only; teachers are built from it (``cls(task)``).

    Built by ``TeachingEnv.describe()``; every field is a copy or a read-only view, so a teacher can
    neither change the env through it nor reach the student, the domain or a held-out item.

    Attributes:
        family: the family name (``TeachingEnv.family``), e.g. ``"SkillList"``.
        observation_space, action_space: copies of the env's spaces.
        skill_names: skill ``k`` is ``skill_names[k]`` (sub-tasks, classes or tasks in some families).
        num_levels: difficulty levels per skill.
        num_steps: teaching steps per episode (the budget).
        examples_per_step: training examples per step (1 where a step is one item or exercise).
        action_kind: what the action is, one of :data:`ACTION_KINDS` (``TeachingEnv.action_kind``);
            only ``sb3:DIR`` teachers act on a task that names none.
        env_id: the registered id (``"teachgym/SkillList-Sim-v0"``), or None for an unregistered env.
        prerequisites: skill name -> names of its prerequisites, where the family shows the graph
            (SkillTree, Tutor); empty elsewhere.
        settings: the family's public settings (e.g. ``num_interventions``, ``ordered``): setting
            name -> value.
        training_pool: the domain's finite training pool (read-only arrays) where it has one, e.g.
            to compute class prototypes; never validation or test items. None otherwise.
        example_writer: fresh training examples of the domain, where the action is the training data
            itself (OpenEnded); None otherwise.
    """

    family: str
    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]
    skill_names: tuple[str, ...]
    num_levels: int
    num_steps: int
    examples_per_step: int
    action_kind: str = ""
    env_id: str | None = None
    prerequisites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    training_pool: Items | None = None
    example_writer: ExampleWriter | None = None

    def __post_init__(self) -> None:
        if self.training_pool is not None and not isinstance(self.training_pool, Items):
            raise ConfigError(
                f"TaskDescription training_pool={self.training_pool!r} is invalid; expected Items or None"
            )
        if self.example_writer is not None and not isinstance(self.example_writer, ExampleWriter):
            raise ConfigError(
                f"TaskDescription example_writer={self.example_writer!r} is invalid; expected an "
                "ExampleWriter or None"
            )
        # Copies, so that a teacher that changes what it was given cannot change the env.
        pool = self.training_pool
        frozen = {
            "observation_space": copy.deepcopy(self.observation_space),
            "action_space": copy.deepcopy(self.action_space),
            "skill_names": tuple(str(name) for name in self.skill_names),
            "prerequisites": _frozen(self.prerequisites),
            "settings": _frozen(self.settings),
            "training_pool": None if pool is None else copy.deepcopy(pool).readonly(),
        }
        for name, value in frozen.items():
            object.__setattr__(self, name, value)

    @property
    def num_skills(self) -> int:
        return len(self.skill_names)


def _frozen(value: Any) -> Any:
    """A read-only copy of ``value``: mappings become ``MappingProxyType``, lists and tuples tuples,
    arrays read-only copies (nested ones too); other values are kept (they are immutable settings)."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, np.ndarray):
        array = value.copy()
        array.flags.writeable = False
        return array
    return value


class PrivilegedView:
    """The hidden state a privileged reference teacher declared (``register(..., privileged=...)``),
    and nothing else: ``view[name]`` for each declared name, read-only.

    Built by ``TeachingEnv.privileged_view(fields)`` and handed only to teachers that declare those
    fields. Reading it breaks the teaching contract (a real teacher sees only observations), so their
    results are references, never ranked entries.
    """

    __slots__ = ("_fields",)
    _fields: Mapping[str, Any]

    def __init__(self, fields: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_fields", MappingProxyType(dict(fields)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"a PrivilegedView is read-only; cannot set {name!r}")

    def __getitem__(self, name: str) -> Any:
        if name not in self._fields:
            raise UnsupportedError(
                f"hidden state {name!r} was not declared; this view holds only {sorted(self._fields)}"
            )
        return self._fields[name]

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    @property
    def names(self) -> tuple[str, ...]:
        """The declared names this view holds."""
        return tuple(self._fields)

    def __repr__(self) -> str:
        return f"PrivilegedView({sorted(self._fields)})"
