"""Items and the Domain protocol: what a domain generates and how answers are graded."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

import numpy as np

from teachgym.skills import SkillSpace


@dataclass(frozen=True)
class Items:
    """A set of examples (training data) or held-out items (evaluation), as arrays.

    Leading dimensions are free: a training batch for a population is ``(P, M)``, a shared held-out
    set is ``(M,)``. Every field has the same leading shape.

    Attributes:
        skill: int64 skill index of each item.
        level: int64 difficulty level of each item (0 = easiest).
        answer: int64 correct answer: a class label (1 for latent-ability items), or a sequence of
            tokens with trailing dimensions (e.g. the digits of a sum).
        features: float32 input vectors ``(..., D)`` for neural students, or None.
        difficulty: float64 IRT difficulty ``b`` (logits) for simulated students, or None.
    """

    skill: np.ndarray
    level: np.ndarray
    answer: np.ndarray
    features: np.ndarray | None = None
    difficulty: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.skill.shape[-1])

    def readonly(self) -> Items:
        """The same items with every array made read-only (for cached held-out splits and pools,
        so that no caller can corrupt them)."""
        for f in fields(self):
            array = getattr(self, f.name)
            if array is not None:
                array.flags.writeable = False
        return self

    def take(self, index: np.ndarray) -> Items:
        """Items at ``index`` along the leading axes (fancy indexing on every field)."""
        return Items(**{f.name: _take(getattr(self, f.name), index) for f in fields(self)})  # type: ignore[arg-type]

    def head(self, size: int) -> Items:
        """The first ``size`` items along the second axis of ``(P, M)`` items."""
        return Items(
            **{f.name: None if (a := getattr(self, f.name)) is None else a[:, :size] for f in fields(self)}  # type: ignore[arg-type]
        )

    def concat(self, other: Items) -> Items:
        """These ``(P, M1)`` items followed by ``other``'s ``(P, M2)`` along the second axis (a
        ValueError if one has a field the other lacks)."""
        joined: dict[str, np.ndarray | None] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if (a is None) != (b is None):
                raise ValueError(f"cannot join items with and without {f.name}")
            joined[f.name] = None if a is None else np.concatenate([a, b], axis=1)
        return Items(**joined)  # type: ignore[arg-type]

    def reshape(self, *shape: int) -> Items:
        """Same items with new leading dimensions."""

        def one(a: np.ndarray | None, trailing: int) -> np.ndarray | None:
            return None if a is None else a.reshape(*shape, *a.shape[a.ndim - trailing :])

        return Items(
            skill=one(self.skill, 0),  # type: ignore[arg-type]
            level=one(self.level, 0),  # type: ignore[arg-type]
            answer=one(self.answer, self.answer.ndim - self.skill.ndim),  # type: ignore[arg-type]
            features=None
            if self.features is None
            else one(self.features, self.features.ndim - self.skill.ndim),
            difficulty=one(self.difficulty, 0),
        )


def _take(array: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if array is None else array[index]


@runtime_checkable
class Domain(Protocol):
    """Generates and grades examples per (skill, level).

    A domain offers held-out items for the ``validation`` and ``test`` splits, and training data
    either procedurally (:meth:`generate`, used by ``ProceduralEngine``) or as a finite pool
    (:meth:`train_pool`, used by ``PoolEngine``), or both. The three splits never share an item.
    """

    skills: SkillSpace
    #: ``"features"`` (neural students read ``Items.features``) or ``"latent"`` (IRT difficulty).
    view: str

    def heldout(self, split: str) -> Items:
        """The fixed held-out items of ``split`` (``"validation"`` or ``"test"``), shape ``(M,)``."""
        ...

    def grade(self, items: Items, responses: np.ndarray) -> np.ndarray:
        """Boolean correctness of ``responses`` (same leading shape as ``items``, or with extra
        leading population dimensions)."""
        ...


def grade_exact(items: Items, responses: np.ndarray) -> np.ndarray:
    """Exact-match grading: a response is correct when it equals the item's answer; for sequence
    answers (trailing dimensions), every token must match."""
    correct = np.asarray(responses) == items.answer
    trailing = items.answer.ndim - items.skill.ndim
    return correct.all(axis=tuple(range(-trailing, 0))) if trailing else correct
