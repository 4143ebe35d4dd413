"""Synthetic binary skills over shared Gaussian features, with tunable transfer, conflict and
difficulty."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from teachgym.config import check_int, check_real
from teachgym.domains.base import Items, grade_exact
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace, as_name_tuple

_OWNER = "domain 'synthetic'"
_SPLITS = ("validation", "test")
_STRUCTURES = ("flat", "tree")


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length."""
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _orthogonal_unit(rng: np.random.Generator, against: np.ndarray) -> np.ndarray:
    """Random unit rows, row ``k`` orthogonal to the unit row ``against[k]``, uniform on that
    sphere."""
    draw = rng.standard_normal(against.shape)
    draw -= (draw * against).sum(axis=-1, keepdims=True) * against  # one Gram-Schmidt step
    return _unit(draw)


class SyntheticDomain:
    """``K`` binary skills over shared Gaussian features, with known transfer, conflict and
    difficulty.

    An item of skill ``k`` draws features ``f ~ N(0, I_F)``; the student sees
    ``features = concat(one_hot(k), f)`` (float32, ``D = K + F``), the cue telling which skill is
    asked. Its answer is ``1[score_k(f) > 0]`` with

    - ``score_k(f) = (1 - d_k) (w_k . f) + d_k (w_k . f)(v_k . f)``,
    - ``w_k = normalize(s_k * correlation * u + sqrt(1 - correlation**2) * u_k)``: a unit vector
      ``u`` shared by all skills (so learning one skill transfers to the others) plus a private unit
      vector ``u_k`` orthogonal to ``u``, so ``cos(w_k, u) = s_k * correlation`` exactly. The
      private vectors are orthonormal when ``F > K`` (there is room), so that
      ``cos(w_j, w_k) = s_j s_k correlation**2`` exactly; otherwise they are independent random unit
      vectors and the cosine scatters around that value with standard deviation about
      ``(1 - correlation**2) / sqrt(F - 1)``;
    - ``s_k = -1`` for the last ``num_conflicting`` skills and ``+1`` otherwise: those skills' rules
      point against the others', so a student that learns one without using the cue answers the
      others wrongly (interference, as in catastrophic-interference studies since McCloskey & Cohen
      1989);
    - ``v_k`` a unit vector orthogonal to ``w_k``, so ``w_k . f`` and ``v_k . f`` are independent
      standard normals and the second term is an XOR of their signs: difficulty ``d_k`` flips the
      linear rule's label on a fraction ``Phi(-(1 - d_k) / d_k)`` of the items (0 at ``d = 0``, 16%
      at 0.5, 40% at 0.8, 50% at 1), so the best linear rule reaches accuracy
      ``Phi((1 - d_k) / d_k)`` and the rest needs a nonlinear student.

    Labels are balanced, for every ``d_k``: the score factors as ``(w_k . f)((1 - d_k) + d_k (v_k . f))``
    and ``w_k . f`` is a standard normal symmetric about 0 and independent of ``v_k . f``, so
    ``P(score_k > 0) = 1/2``. Equivalently, the reflection ``f -> f - 2 (w_k . f) w_k`` keeps the
    distribution of ``f`` and ``v_k . f`` and flips the sign of every score. (``f -> -f`` does not:
    the XOR term is even in ``f``.) All rule vectors are fixed by
    ``seed``; so are the held-out splits (``num_heldout`` items per skill each) and the training
    pool (``pool_size`` items per skill), each drawn from its own stream spawned from
    ``np.random.SeedSequence(seed)``. Features are continuous, so the training stream, the pool and
    the two held-out splits share no item (with probability 1). Training data comes either fresh
    from :meth:`generate` (``ProceduralEngine``) or from :meth:`train_pool` (``PoolEngine``).

    Prerequisites (``structure="tree"``): skills form a binary tree, skill ``k > 0`` having skill
    ``(k - 1) // 2`` as its prerequisite, and a skill's answer adds its prerequisite's answer to its
    own score: ``y_k = 1[score_k(f) + prerequisite_weight * (2 y_parent(f) - 1) > 0]`` (recursively up
    to the root). A skill's label thus depends on what its prerequisites teach: a network that has
    learned the parent's rule in its hidden layer needs only one more threshold for the child, while
    one that has not must learn the whole chain at once. With ``structure="flat"`` (default) there
    are no prerequisites.

    Args:
        num_skills: ``K``, skills (``skill-0`` .. ``skill-{K-1}``, one level each).
        num_latent_features: ``F``, Gaussian feature dimensions (>= 2, so ``u_k`` and ``v_k`` exist).
            The attribute :attr:`num_features` is the student's input size ``D = K + F``.
        correlation: cosine between each rule direction and the shared direction ``u``, in (-1, 1).
        num_conflicting: skills whose rule points against the shared direction, in [0, K].
        difficulty: ``d_k`` per skill in [0, 1]; default evenly spaced from 0.0 to 0.8.
        seed: fixes the rules, the held-out splits and the pool.
        num_heldout: items per skill in each of the validation and test splits.
        pool_size: items per skill in the training pool.
        structure: ``"flat"`` (independent skills) or ``"tree"`` (binary prerequisite tree).
        prerequisite_weight: how much a prerequisite's answer shifts a skill's score in the tree, in
            standard deviations of ``w_k . f``.
    """

    view = "features"
    num_classes = 2

    def __init__(
        self,
        *,
        num_skills: int = 6,
        num_latent_features: int = 16,
        correlation: float = 0.6,
        num_conflicting: int = 2,
        difficulty: Sequence[float] | np.ndarray | None = None,
        seed: int = 0,
        num_heldout: int = 100,
        pool_size: int = 400,
        structure: str = "flat",
        prerequisite_weight: float = 0.7,
    ) -> None:
        num_skills = check_int(_OWNER, "num_skills", num_skills, 1)
        num_latent_features = check_int(_OWNER, "num_latent_features", num_latent_features, 2)
        # At most num_skills: the conflicting skills are the last num_conflicting of the K.
        num_conflicting = check_int(_OWNER, "num_conflicting", num_conflicting, 0, num_skills)
        correlation = check_real(_OWNER, "correlation", correlation, -1.0, 1.0, low_open=True, high_open=True)
        seed = check_int(_OWNER, "seed", seed, 0)
        self.prerequisite_weight = check_real(_OWNER, "prerequisite_weight", prerequisite_weight, 0.0, 10.0)
        num_heldout = check_int(_OWNER, "num_heldout", num_heldout, 1)
        pool_size = check_int(_OWNER, "pool_size", pool_size, 1)
        if structure not in _STRUCTURES:
            raise ConfigError(
                f"{_OWNER} argument structure={structure!r} is invalid; expected one of {_STRUCTURES}"
            )
        if difficulty is None:
            difficulty = np.linspace(0.0, 0.8, num_skills)
        try:
            levels = np.asarray(difficulty, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{_OWNER} argument difficulty={difficulty!r} is invalid; expected a sequence of floats"
            ) from None
        if levels.shape != (num_skills,) or not np.all((levels >= 0.0) & (levels <= 1.0)):
            raise ConfigError(
                f"{_OWNER} argument difficulty={difficulty!r} is invalid; expected {num_skills} "
                "(num_skills) floats in [0, 1]"
            )
        self.num_skills = num_skills
        self.num_latent_features = num_latent_features
        # What the student reads (the Domain protocol's input size D): the cue and the features.
        self.num_features = num_skills + num_latent_features
        self.correlation = correlation
        self.num_conflicting = num_conflicting
        self.difficulty = levels
        self.seed = seed
        names = as_name_tuple(self.num_skills, "skill")
        #: Prerequisite of each skill (-1 for none): the parent in a binary tree, or none when flat.
        # In the tree, (0 - 1) // 2 = -1: the root has no prerequisite.
        self.parent = (np.arange(num_skills) - 1) // 2 if structure == "tree" else np.full(num_skills, -1)
        prerequisites = {names[k]: (names[self.parent[k]],) for k in range(num_skills) if self.parent[k] >= 0}
        self.skills = SkillSpace(names=names, prerequisites=prerequisites, num_levels=1)
        rules, validation, test, pool = np.random.SeedSequence(self.seed).spawn(4)
        self._build_rules(np.random.default_rng(rules))
        every_skill = np.arange(self.num_skills, dtype=np.int64)
        self._items = {
            "validation": self._draw(every_skill, num_heldout, validation).readonly(),
            "test": self._draw(every_skill, num_heldout, test).readonly(),
            "train": self._draw(every_skill, pool_size, pool).readonly(),
        }

    def _build_rules(self, rng: np.random.Generator) -> None:
        """Draw the shared direction ``u``, the rule directions ``w`` ``(K, F)``, the XOR directions
        ``v`` ``(K, F)`` and the signs ``s`` ``(K,)``."""
        num_skills, num_latent = self.num_skills, self.num_latent_features
        self.shared_direction = _unit(rng.standard_normal(num_latent))
        shared = np.broadcast_to(self.shared_direction, (num_skills, num_latent))
        if num_latent > num_skills:
            # Orthonormal private parts make every pair of skills overlap by exactly correlation**2:
            # QR of [u, Gaussian columns] keeps u's span first and completes it orthonormally.
            columns = np.column_stack([self.shared_direction, rng.standard_normal((num_latent, num_skills))])
            private = np.linalg.qr(columns)[0][:, 1:].T
        else:
            private = _orthogonal_unit(rng, shared)
        self.signs = np.ones(num_skills)
        self.signs[num_skills - self.num_conflicting :] = -1.0
        c = self.correlation
        mixed = self.signs[:, None] * c * shared + math.sqrt(1.0 - c * c) * private
        self.rule_directions = _unit(mixed)
        self.xor_directions = _orthogonal_unit(rng, self.rule_directions)

    def _draw(self, skills: np.ndarray, per_skill: int, seed: np.random.SeedSequence) -> Items:
        """``per_skill`` items of each of ``skills``, grouped by skill, from stream ``seed``."""
        skill = np.repeat(skills, per_skill)
        return self.generate(skill, np.zeros_like(skill), np.random.default_rng(seed))

    def generate(self, skill: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> Items:
        """Fresh items for the given (skill, level) pairs (any equal shapes; level must be 0).

        Features ``(..., D)`` are float32; the answer is computed from the float32 features, so it
        is exactly the rule applied to what the student sees.
        """
        skill = np.asarray(skill)
        level = np.asarray(level)
        if skill.shape != level.shape:
            raise ConfigError(
                f"SyntheticDomain.generate got skill shape {skill.shape} and level shape "
                f"{level.shape}; expected equal shapes"
            )
        integral = np.issubdtype(skill.dtype, np.integer)
        if skill.size and (not integral or skill.min() < 0 or skill.max() >= self.num_skills):
            raise ConfigError(
                f"SyntheticDomain.generate got skills {np.unique(skill).tolist()}; expected ints "
                f"in [0, {self.num_skills})"
            )
        if np.any(level != 0):
            raise ConfigError(
                f"SyntheticDomain.generate got levels {np.unique(level).tolist()}; expected only 0 "
                "(one level per skill)"
            )
        skill = skill.astype(np.int64)
        gaussian = rng.standard_normal((*skill.shape, self.num_latent_features)).astype(np.float32)
        answer = self.rule(skill, gaussian)
        cue = np.eye(self.num_skills, dtype=np.float32)[skill]
        features = np.concatenate([cue, gaussian], axis=-1)
        return Items(skill, np.zeros_like(skill), answer, features=features)

    def score(self, skill: np.ndarray, gaussian: np.ndarray) -> np.ndarray:
        """``score_k(f)`` (float64) of Gaussian features ``f (..., F)`` under skills ``k (...)``."""
        f = np.asarray(gaussian, dtype=np.float64)
        linear = np.einsum("...f,...f->...", f, self.rule_directions[skill])
        xor = np.einsum("...f,...f->...", f, self.xor_directions[skill])
        d = self.difficulty[skill]
        return (1.0 - d) * linear + d * linear * xor

    def rule(self, skill: np.ndarray, gaussian: np.ndarray) -> np.ndarray:
        """Correct int64 label of Gaussian features ``f`` under skills ``k``: ``1[score_k(f) > 0]``,
        with the prerequisite's answer added to the score in the tree structure."""
        if np.all(self.parent < 0):
            return (self.score(skill, gaussian) > 0.0).astype(np.int64)
        # Every skill's label for these features, root first (a parent's index is below its child's).
        labels = np.zeros((*np.shape(skill), self.num_skills), dtype=np.int64)
        for k in range(self.num_skills):
            score = self.score(np.full(np.shape(skill), k), gaussian)
            if self.parent[k] >= 0:
                score = score + self.prerequisite_weight * (2 * labels[..., self.parent[k]] - 1)
            labels[..., k] = score > 0.0
        return np.take_along_axis(labels, np.asarray(skill)[..., None], axis=-1)[..., 0]

    def heldout(self, split: str) -> Items:
        """The fixed held-out items of ``split`` (``"validation"`` or ``"test"``), shape
        ``(K * num_heldout,)``, grouped by skill."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._items[split]

    def train_pool(self) -> Items:
        """A fixed training pool, shape ``(K * pool_size,)``, grouped by skill."""
        return self._items["train"]

    grade = staticmethod(grade_exact)
