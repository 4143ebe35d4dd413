"""Handwritten digits (scikit-learn's 8x8 ``load_digits``) as a pool domain: one skill per class."""

from __future__ import annotations

import functools

import numpy as np
from sklearn.datasets import load_digits

from teachgym.config import check_int
from teachgym.domains.base import Items, grade_exact
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace

#: The ten classes as skills, one difficulty level each.
DIGIT_SKILLS = SkillSpace(names=tuple(f"digit-{k}" for k in range(10)), num_levels=1)

_OWNER = "domain 'digits'"
_SPLITS = ("validation", "test")


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The whole data set once per process: features ``(1797, 64)`` float32 in [0, 1], labels int64.

    Both arrays are read-only because every :class:`DigitsDomain` shares them; domains copy out of
    them by fancy indexing and never write back.
    """
    data = load_digits()  # ships with scikit-learn: no download, ~50 ms
    # Pixels are ink counts 0..16 (a 4x4 block of the 32x32 bitmap; UCI "Optical Recognition of
    # Handwritten Digits", Alpaydin & Kaynak 1998); dividing by 16 puts them in [0, 1].
    features = (data.data / 16.0).astype(np.float32)
    labels = data.target.astype(np.int64)
    features.setflags(write=False)
    labels.setflags(write=False)
    return features, labels


class DigitsDomain:
    """The 1,797 8x8 handwritten digits of scikit-learn's ``load_digits``, split three ways.

    Each digit class is a skill (``digit-0`` .. ``digit-9``, one level); an item's features are its
    64 pixel intensities scaled to [0, 1] (float32) and its answer is the class label. A stratified
    split fixed by ``seed`` puts ``num_validation_per_class`` and ``num_test_per_class`` images of
    every class into the validation and test splits; the remaining images (94-103 per class with
    the defaults) form the training pool. The three splits share no image. There is no procedural
    generator: training data comes from :meth:`train_pool` through a ``PoolEngine``.

    Args:
        seed: int >= 0; fixes the split; episodes vary only the student and the training stream.
        num_validation_per_class: int >= 1, validation images per class.
        num_test_per_class: int >= 1, test images per class; the two together must leave at least
            one training image of the smallest class (174 images).

    Raises:
        ConfigError: an argument of the wrong type or out of range.
    """

    view = "features"
    num_features = 64
    num_classes = 10
    skills = DIGIT_SKILLS

    def __init__(
        self, *, seed: int = 0, num_validation_per_class: int = 30, num_test_per_class: int = 50
    ) -> None:
        seed = check_int(_OWNER, "seed", seed, 0)
        num_validation_per_class = check_int(_OWNER, "num_validation_per_class", num_validation_per_class, 1)
        num_test_per_class = check_int(_OWNER, "num_test_per_class", num_test_per_class, 1)
        features, labels = _digits()
        class_sizes = np.bincount(labels, minlength=self.num_classes)
        num_heldout = num_validation_per_class + num_test_per_class
        if num_heldout >= class_sizes.min():
            raise ConfigError(
                f"{_OWNER} arguments num_validation_per_class + num_test_per_class = {num_heldout} "
                f"leaves no training image; expected a sum < {class_sizes.min()} (the smallest "
                "class)"
            )
        self.seed = seed
        rng = np.random.default_rng(np.random.SeedSequence(self.seed))
        parts: dict[str, list[np.ndarray]] = {"validation": [], "test": [], "train": []}
        for label in range(self.num_classes):
            # Shuffle within each class and cut: every split gets its exact per-class count.
            members = rng.permutation(np.flatnonzero(labels == label))
            parts["validation"].append(members[:num_validation_per_class])
            parts["test"].append(members[num_validation_per_class:num_heldout])
            parts["train"].append(members[num_heldout:])
        self._items: dict[str, Items] = {}
        for split, part in parts.items():
            self._items[split] = self._select(features, labels, np.concatenate(part)).readonly()

    @staticmethod
    def _select(features: np.ndarray, labels: np.ndarray, index: np.ndarray) -> Items:
        label = labels[index]  # fancy indexing copies: the shared cache stays untouched
        return Items(
            skill=label,
            level=np.zeros_like(label),
            answer=label.copy(),
            features=features[index],
        )

    def heldout(self, split: str) -> Items:
        """The fixed held-out images of ``split`` (``"validation"`` or ``"test"``), shape ``(M,)``,
        grouped by class."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._items[split]

    def train_pool(self) -> Items:
        """The training images, shape ``(N,)`` (N = 1797 - 10 * held-out per class, grouped by
        class)."""
        return self._items["train"]

    grade = staticmethod(grade_exact)
