"""Skills, their prerequisite structure and difficulty levels, and the per-skill profile of a student."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from teachgym.errors import ConfigError


@dataclass(frozen=True)
class SkillSpace:
    """Named skills, an optional prerequisite DAG between them, and a number of difficulty levels.

    Args:
        names: one unique name per skill; skill ``k`` is ``names[k]``.
        prerequisites: maps a skill name to the names of the skills it depends on. Must be acyclic.
        num_levels: difficulty levels per skill (level 0 is the easiest).
    """

    names: tuple[str, ...]
    prerequisites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    num_levels: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        if not self.names:
            raise ConfigError("SkillSpace needs at least one skill name, got none")
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"skill names must be unique, got {list(self.names)}")
        if self.num_levels < 1:
            raise ConfigError(f"num_levels must be >= 1, got {self.num_levels}")
        prereqs = {k: tuple(v) for k, v in dict(self.prerequisites).items()}
        for skill, needs in prereqs.items():
            for name in (skill, *needs):
                if name not in self.names:
                    raise ConfigError(
                        f"prerequisite graph names unknown skill {name!r}; known: {list(self.names)}"
                    )
        object.__setattr__(self, "prerequisites", prereqs)
        self.topological_order()  # raises on a cycle

    @property
    def num_skills(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of skill ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError(f"unknown skill {name!r}; known: {list(self.names)}") from None

    def prerequisite_matrix(self) -> np.ndarray:
        """Boolean ``(num_skills, num_skills)`` matrix; entry ``[k, j]`` is True if j is needed for k."""
        matrix = np.zeros((self.num_skills, self.num_skills), dtype=bool)
        for skill, needs in self.prerequisites.items():
            for need in needs:
                matrix[self.index(skill), self.index(need)] = True
        return matrix

    def topological_order(self) -> list[int]:
        """Skill indices ordered so that every skill comes after its prerequisites (stable, Kahn)."""
        matrix = self.prerequisite_matrix()
        remaining = matrix.sum(axis=1)
        order: list[int] = []
        ready = [k for k in range(self.num_skills) if remaining[k] == 0]
        while ready:
            k = ready.pop(0)
            order.append(k)
            for dependent in np.flatnonzero(matrix[:, k]):
                remaining[dependent] -= 1
                if remaining[dependent] == 0:
                    ready.append(int(dependent))
            ready.sort()
        if len(order) != self.num_skills:
            cyclic = [self.names[k] for k in range(self.num_skills) if k not in order]
            raise ConfigError(f"prerequisite graph has a cycle among skills {cyclic}")
        return order


@dataclass(frozen=True)
class Profile:
    """Held-out accuracy of one student, or of a population (leading dimensions), per skill and level.

    Attributes:
        skills: the skill space the accuracies refer to.
        level_accuracy: fraction of held-out items answered correctly, shape ``(..., K, L)``.
        level_counts: number of held-out items behind each accuracy, shape ``(K, L)``.
    """

    skills: SkillSpace
    level_accuracy: np.ndarray
    level_counts: np.ndarray

    @cached_property
    def accuracy(self) -> np.ndarray:
        """Per-skill accuracy over all its held-out items, shape ``(..., K)`` (computed once: a
        profile is immutable, and the loop reads it several times a step)."""
        counts = self.level_counts
        accuracy = (self.level_accuracy * counts).sum(axis=-1) / np.maximum(counts.sum(axis=-1), 1)
        accuracy.flags.writeable = False  # shared by every reader of the cached value
        return accuracy

    @cached_property
    def mean(self) -> np.ndarray:
        """Mean over skills of the per-skill accuracy (every skill weighs the same), shape ``(...)``."""
        mean = self.accuracy.mean(axis=-1)
        if isinstance(mean, np.ndarray):
            mean.flags.writeable = False
        return mean  # type: ignore[no-any-return]

    def member(self, index: int) -> Profile:
        """The profile of one member of a population (made once per index: profiles are immutable)."""
        made = self.__dict__.setdefault("_members", {})
        if index not in made:
            made[index] = Profile(self.skills, self.level_accuracy[index], self.level_counts)
        return made[index]  # type: ignore[no-any-return]

    def rows(self) -> list[Profile]:
        """One one-member profile (leading dimension 1) per member of a population ``(P, K, L)``,
        sharing this profile's per-skill accuracy (computed once for all)."""
        accuracy = self.accuracy
        profiles = []
        for p in range(self.level_accuracy.shape[0]):
            row = Profile(self.skills, self.level_accuracy[p : p + 1], self.level_counts)
            row.__dict__["accuracy"] = accuracy[p : p + 1]
            profiles.append(row)
        return profiles

    def named(self) -> dict[str, float]:
        """``{skill name: accuracy}`` for a single student, for humans and JSON."""
        accuracy = np.asarray(self.accuracy)
        if accuracy.ndim != 1:
            raise ValueError(f"named() needs a single student's profile, got shape {accuracy.shape}")
        return {name: round(float(a), 6) for name, a in zip(self.skills.names, accuracy, strict=True)}


def profile_from_correct(
    skills: SkillSpace, skill: np.ndarray, level: np.ndarray, correct: np.ndarray
) -> Profile:
    """Aggregate graded answers into a :class:`Profile`.

    Args:
        skill, level: ``(M,)`` skill and level of each held-out item.
        correct: ``(..., M)`` booleans, one row per population member.
    """
    cell = skill * skills.num_levels + level
    num_cells = skills.num_skills * skills.num_levels
    counts = np.bincount(cell, minlength=num_cells).astype(np.float64)
    lead = correct.shape[:-1]
    flat = correct.reshape(-1, correct.shape[-1]).astype(np.float64)
    hits = flat @ np.eye(num_cells)[cell]  # (members, cells): correct answers per cell
    accuracy = hits / np.maximum(counts, 1)
    shape = (*lead, skills.num_skills, skills.num_levels)
    return Profile(skills, accuracy.reshape(shape), counts.reshape(shape[-2:]))


def as_name_tuple(names: Sequence[str] | int, prefix: str = "skill") -> tuple[str, ...]:
    """Skill names from a list, or ``prefix-0 .. prefix-(n-1)`` from a count."""
    if isinstance(names, int):
        return tuple(f"{prefix}-{k}" for k in range(names))
    return tuple(names)
