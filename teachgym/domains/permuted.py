"""Permuted handwritten digits: ``load_digits`` under fixed pixel permutations, one task per permutation
(domain-incremental continual learning, as permuted MNIST)."""

from __future__ import annotations

import numpy as np

from teachgym.config import check_int
from teachgym.domains.base import Items, grade_exact
from teachgym.domains.digits import DigitsDomain
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace, as_name_tuple

_OWNER = "domain 'permuted-digits'"
_SPLITS = ("validation", "test")


class PermutedDigitsDomain:
    """``num_tasks`` tasks over scikit-learn's 8x8 digits, each a fixed permutation of the 64 pixels.

    The domain-incremental benchmark of continual learning (permuted MNIST: Goodfellow et al. 2013;
    Kirkpatrick et al. 2017; the power-law rehearsal paper, Gandhi et al. 2024) on the digits that
    ship with scikit-learn: every task has the same ten labels, and task ``k`` shows every image with
    its pixels reordered by permutation ``k``. A task is a skill (``task-0`` .. ``task-{K-1}``, one
    level), so a student's profile is its accuracy per task. The permutations destroy the spatial
    layout differently for each task, so a network that learns one task's input weights overwrites
    what another task needed: learning tasks in sequence forgets the earlier ones.

    Splits: the images are split once, exactly as :class:`~teachgym.domains.digits.DigitsDomain`
    with the same ``seed`` and per-class counts, and each split is then shown under every
    permutation. A training image therefore never appears, under any permutation, in the validation
    or test split, and the validation and test images are disjoint likewise. There is no procedural
    generator: training data comes from :meth:`train_pool` (``K`` times the digits' pool) through a
    ``PoolEngine``.

    Args:
        num_tasks: ``K``, tasks (permutations), an int in [1, 100].
        identity_first: task 0 keeps the original pixel order (the usual first task of permuted
            MNIST); otherwise task 0 is a random permutation too.
        seed: int >= 0; fixes the split (as ``DigitsDomain(seed)``) and, through an independent
            stream (``np.random.SeedSequence(seed, spawn_key=(1,))``), the permutations.
        num_validation_per_class, num_test_per_class: images per class in the validation and test
            splits (of every task), as in ``DigitsDomain``.

    Raises:
        ConfigError: an argument of the wrong type or out of range.
    """

    view = "features"
    num_features = DigitsDomain.num_features
    num_classes = DigitsDomain.num_classes

    def __init__(
        self,
        *,
        num_tasks: int = 5,
        identity_first: bool = True,
        seed: int = 0,
        num_validation_per_class: int = 30,
        num_test_per_class: int = 50,
    ) -> None:
        self.num_tasks = check_int(_OWNER, "num_tasks", num_tasks, 1, 100)
        if not isinstance(identity_first, bool | np.bool_):
            raise ConfigError(
                f"{_OWNER} argument identity_first={identity_first!r} is invalid; expected a bool"
            )
        self.seed = check_int(_OWNER, "seed", seed, 0)
        # DigitsDomain checks the per-class counts and makes the split.
        digits = DigitsDomain(
            seed=self.seed,
            num_validation_per_class=num_validation_per_class,
            num_test_per_class=num_test_per_class,
        )
        self.skills = SkillSpace(names=as_name_tuple(self.num_tasks, "task"), num_levels=1)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1,)))
        permutations = [rng.permutation(self.num_features) for _ in range(self.num_tasks)]
        if identity_first:
            permutations[0] = np.arange(self.num_features)
        self.permutations = np.stack(permutations)
        self.permutations.setflags(write=False)
        self._items = {
            split: self._permute(items).readonly()
            for split, items in (
                ("validation", digits.heldout("validation")),
                ("test", digits.heldout("test")),
                ("train", digits.train_pool()),
            )
        }

    def _permute(self, items: Items) -> Items:
        """``items`` (one digit image each) shown under every permutation, grouped by task."""
        assert items.features is not None
        num_items = len(items)
        return Items(
            skill=np.repeat(np.arange(self.num_tasks, dtype=np.int64), num_items),
            level=np.zeros(self.num_tasks * num_items, dtype=np.int64),
            answer=np.tile(items.answer, self.num_tasks),
            # features[:, p] puts old pixel p[j] at position j: one fixed reordering per task.
            features=np.concatenate([items.features[:, p] for p in self.permutations]),
        )

    def heldout(self, split: str) -> Items:
        """The fixed held-out images of ``split`` (``"validation"`` or ``"test"``) under every
        permutation, shape ``(K * 10 * per-class count,)``, grouped by task."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._items[split]

    def train_pool(self) -> Items:
        """The training images under every permutation, shape ``(K * N,)``, grouped by task."""
        return self._items["train"]

    grade = staticmethod(grade_exact)
