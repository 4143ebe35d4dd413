"""Multi-digit decimal addition as a sequence task, one sub-task per number of digits (TSCL's setting)."""

from __future__ import annotations

import numpy as np

from teachgym.config import check_int, check_real
from teachgym.domains.base import Items, grade_exact
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace

_OWNER = "domain 'addition'"
_SPLITS = ("validation", "test")
#: Input features per position: a one-hot digit of ``a`` and a one-hot digit of ``b``.
_NUM_FEATURES = 20
#: More digits overflow int64 keys (``a * 10**N + b``) and are far beyond a CPU episode anyway.
_MAX_DIGITS = 9
#: Sub-tasks with at most this many pairs are enumerated (training draws from the list of pairs left
#: after the held-out ones); larger ones are sampled and held-out pairs redrawn.
_ENUMERATE_UP_TO = 100_000


class AdditionDomain:
    """``a + b`` with operands of exactly ``n`` decimal digits, one sub-task (skill) per ``n``.

    After Matiisen et al. (2017, TSCL), whose sub-tasks are the additions of 1..9-digit numbers. The
    skills are ``"n-digit"`` for ``n = min_digits .. num_digits`` (default 2..5, four sub-tasks, in
    order of difficulty); skill ``n - min_digits`` draws ``a`` and ``b`` uniformly among the
    numbers with exactly ``n`` digits (``10**(n-1) .. 10**n - 1``; ``0..9`` for ``n = 1``). One
    difficulty level per skill.

    **Encoding** (``view = "sequence"``). An item is a sequence of ``T = num_digits + 1`` positions,
    least significant digit first and the two operands aligned, so that the carry flows forward in
    time as in column addition:

    - ``features`` float32 ``(..., T * 20)``: ``T`` positions of 20 features, flattened
      position-major (a student reshapes to ``(..., T, 20)``; flat, so that an item is one row
      everywhere items are handled). At position ``i < n``: a one-hot of the ``i``-th digit of ``a``
      (columns 0-9) and of ``b`` (columns 10-19); positions ``i >= n`` are all zeros ("no digit"),
      so the operands' length is visible.
    - ``answer`` int64 ``(..., T)``: the ``T`` digits of ``a + b``, least significant first, with
      leading zeros (position ``n`` holds the final carry). Grading is exact match of the whole
      sequence (:func:`~teachgym.domains.base.grade_exact`): one wrong digit makes the sum wrong.

    **Splits.** Validation and test are fixed sets of distinct ``(a, b)`` pairs per sub-task, drawn
    from streams spawned from ``seed``, disjoint from each other and never generated for training:
    :meth:`generate` redraws any held-out pair. Each held-out split takes ``num_heldout`` pairs per
    sub-task, or ``max_heldout_fraction`` of its pairs where that is fewer. From two digits up, a
    held-out sum is a new combination of column additions that training does show. With one digit
    the item *is* the column (100 pairs; 20 validation, 20 test and 60 training pairs by default),
    so its held-out sums are additions never practised in that sub-task: a GRU trained on the
    one-digit sub-task alone memorises its 60 pairs and scores 0 on the held-out ones (it learns
    them only from the longer sub-tasks). That would make the "easiest" sub-task the one that
    cannot be practised, so the default range starts at two digits; ``min_digits=1`` gives TSCL's
    range with this caveat.

    Args:
        num_digits: ``N``, the longest operands; in [1, 9].
        min_digits: the shortest operands, in [1, N].
        seed: int >= 0; fixes the held-out splits.
        num_heldout: int >= 1, held-out pairs per sub-task in each of the validation and test splits
            (fewer where ``max_heldout_fraction`` caps them).
        max_heldout_fraction: the largest fraction of a sub-task's pairs that one held-out split may
            take, in (0, 0.5).

    Raises:
        ConfigError: an argument of the wrong type or out of range.
    """

    view = "sequence"
    num_features = _NUM_FEATURES
    num_classes = 10

    def __init__(
        self,
        *,
        num_digits: int = 5,
        min_digits: int = 2,
        seed: int = 0,
        num_heldout: int = 100,
        max_heldout_fraction: float = 0.2,
    ) -> None:
        self.num_digits = check_int(_OWNER, "num_digits", num_digits, 1, _MAX_DIGITS)
        self.min_digits = check_int(_OWNER, "min_digits", min_digits, 1, self.num_digits)
        self._lengths = list(range(self.min_digits, self.num_digits + 1))
        self.seed = check_int(_OWNER, "seed", seed, 0)
        num_heldout = check_int(_OWNER, "num_heldout", num_heldout, 1)
        fraction = check_real(
            _OWNER, "max_heldout_fraction", max_heldout_fraction, 0.0, 0.5, low_open=True, high_open=True
        )
        self.sequence_length = self.num_digits + 1
        self.skills = SkillSpace(names=tuple(f"{n}-digit" for n in self._lengths))
        self.num_skills = len(self._lengths)
        streams = np.random.SeedSequence(self.seed).spawn(self.num_skills)
        self._low = np.array([0 if n == 1 else 10 ** (n - 1) for n in self._lengths])
        self._high = 10 ** np.array(self._lengths)  # exclusive
        self._length = np.array(self._lengths)
        self.num_heldout = [
            max(1, min(num_heldout, int(fraction * self.num_pairs(k)))) for k in range(self.num_skills)
        ]
        pairs: dict[str, list[np.ndarray]] = {"validation": [], "test": []}
        #: Per sub-task, the sorted keys ``a * 10**N + b`` of every held-out pair (both splits).
        self._heldout_keys: list[np.ndarray] = []
        #: Per sub-task with a small pair space, the training pairs ``(n, 2)`` (else None).
        self._train_pairs: list[np.ndarray | None] = []
        for k, stream in enumerate(streams):
            rng = np.random.default_rng(stream)
            count = self.num_heldout[k]
            chosen = self._distinct_pairs(k, 2 * count, rng)
            pairs["validation"].append(chosen[:count])
            pairs["test"].append(chosen[count:])
            keys = self._key(chosen[:, 0], chosen[:, 1])
            self._heldout_keys.append(np.sort(keys))
            # Enumerate small sub-tasks so training draws uniformly from the pairs that are left.
            if self.num_pairs(k) <= _ENUMERATE_UP_TO:
                grid = self._all_pairs(k)
                self._train_pairs.append(grid[~np.isin(self._key(grid[:, 0], grid[:, 1]), keys)])
            else:
                self._train_pairs.append(None)
        self._heldout = {}
        for split, per_skill in pairs.items():
            skill = np.concatenate([np.full(len(p), k, np.int64) for k, p in enumerate(per_skill)])
            both = np.concatenate(per_skill)
            self._heldout[split] = self.encode(skill, both[:, 0], both[:, 1]).readonly()

    # ------------------------------------------------------------------ pairs
    def num_pairs(self, skill: int) -> int:
        """How many ordered pairs ``(a, b)`` sub-task ``skill`` has (100 for one digit)."""
        return int(self._high[skill] - self._low[skill]) ** 2

    def _all_pairs(self, skill: int) -> np.ndarray:
        numbers = np.arange(self._low[skill], self._high[skill])
        a, b = np.meshgrid(numbers, numbers, indexing="ij")
        return np.stack([a.ravel(), b.ravel()], axis=1)

    def _key(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A unique int64 per ordered pair; a pair's sub-task is implied by ``a``'s digit count."""
        return np.asarray(a, np.int64) * 10**self.num_digits + np.asarray(b, np.int64)

    def _distinct_pairs(self, skill: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` distinct pairs of sub-task ``skill``, in draw order, ``(count, 2)`` int64."""
        if self.num_pairs(skill) <= _ENUMERATE_UP_TO:
            grid = self._all_pairs(skill)
            return grid[rng.permutation(len(grid))[:count]]
        chosen = np.empty((0, 2), np.int64)
        while len(chosen) < count:
            draw = rng.integers(self._low[skill], self._high[skill], (2 * count, 2))
            chosen = np.concatenate([chosen, draw])
            _, first = np.unique(self._key(chosen[:, 0], chosen[:, 1]), return_index=True)
            chosen = chosen[np.sort(first)]
        return chosen[:count]

    # ------------------------------------------------------------------ items
    def encode(self, skill: np.ndarray, a: np.ndarray, b: np.ndarray) -> Items:
        """Items for operands ``a`` and ``b`` of sub-tasks ``skill`` (any equal shapes)."""
        skill, a, b = (np.asarray(x, np.int64) for x in (skill, a, b))
        positions = np.arange(self.sequence_length)
        place = 10**positions  # (T,)
        present = positions < self._length[skill][..., None]  # (..., T): the operands' digits
        digit_a = (a[..., None] // place) % 10
        digit_b = (b[..., None] // place) % 10
        features = np.zeros((*skill.shape, self.sequence_length, _NUM_FEATURES), np.float32)
        one_hot = np.eye(10, dtype=np.float32)
        features[..., :10] = one_hot[digit_a] * present[..., None]
        features[..., 10:] = one_hot[digit_b] * present[..., None]
        answer = ((a + b)[..., None] // place) % 10
        features = features.reshape(*skill.shape, self.sequence_length * _NUM_FEATURES)
        return Items(skill, np.zeros_like(skill), answer.astype(np.int64), features=features)

    def operands(self, items: Items) -> tuple[np.ndarray, np.ndarray]:
        """The operands ``(a, b)`` of ``items``, decoded from their features (int64, leading shape)."""
        if items.features is None:
            raise ConfigError("AdditionDomain.operands needs items with features, got items without")
        features = items.features.reshape(*items.features.shape[:-1], -1, _NUM_FEATURES)
        place = 10 ** np.arange(features.shape[-2])
        digits = np.arange(10)
        a = (features[..., :10] @ digits * place).sum(axis=-1)
        b = (features[..., 10:] @ digits * place).sum(axis=-1)
        return np.rint(a).astype(np.int64), np.rint(b).astype(np.int64)

    def generate(self, skill: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> Items:
        """Fresh training items for the given sub-tasks (any equal shapes; level must be 0); a pair
        held out for validation or test is never generated."""
        skill = np.asarray(skill)
        level = np.asarray(level)
        if skill.shape != level.shape:
            raise ConfigError(
                f"AdditionDomain.generate got skill shape {skill.shape} and level shape {level.shape}; "
                "expected equal shapes"
            )
        integral = np.issubdtype(skill.dtype, np.integer)
        if skill.size and (not integral or skill.min() < 0 or skill.max() >= self.num_skills):
            raise ConfigError(
                f"AdditionDomain.generate got skills {np.unique(skill).tolist()}; expected ints in "
                f"[0, {self.num_skills})"
            )
        if np.any(level != 0):
            raise ConfigError(
                f"AdditionDomain.generate got levels {np.unique(level).tolist()}; expected only 0 "
                "(one level per sub-task)"
            )
        skill = skill.astype(np.int64)
        flat = skill.ravel()
        a = np.empty(flat.shape, np.int64)
        b = np.empty(flat.shape, np.int64)
        for k in np.unique(flat):  # ascending, so the draws' order is fixed
            where = np.flatnonzero(flat == k)
            pairs = self._train_pairs[k]
            if pairs is not None:
                chosen = pairs[rng.integers(len(pairs), size=len(where))]
            else:
                chosen = self._draw_unheld(int(k), len(where), rng)
            a[where], b[where] = chosen[:, 0], chosen[:, 1]
        return self.encode(skill, a.reshape(skill.shape), b.reshape(skill.shape))

    def _draw_unheld(self, skill: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` uniform pairs of a large sub-task, redrawing any held-out pair."""
        chosen = rng.integers(self._low[skill], self._high[skill], (count, 2))
        while True:
            held = np.isin(self._key(chosen[:, 0], chosen[:, 1]), self._heldout_keys[skill])
            if not held.any():
                return chosen
            chosen[held] = rng.integers(self._low[skill], self._high[skill], (int(held.sum()), 2))

    def heldout(self, split: str) -> Items:
        """The fixed held-out items of ``split`` (``"validation"`` or ``"test"``), shape ``(M,)``,
        grouped by sub-task."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._heldout[split]

    grade = staticmethod(grade_exact)
