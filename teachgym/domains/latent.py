"""Latent-ability items for simulated learners: each item is a (skill, level, IRT difficulty)."""

from __future__ import annotations

import numpy as np

from teachgym.config import check_int, check_real
from teachgym.counter import CounterStreams
from teachgym.domains.base import Items, grade_exact
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace

_OWNER = "domain 'sim'"
_SPLITS = ("validation", "test")
#: Largest accepted spread or noise, logits: beyond it every item is certain to be right or wrong.
_MAX_SPREAD = 10.0

#: A small arithmetic curriculum with prerequisites, the default skill space of the ``Sim`` domain.
ARITHMETIC_SKILLS = SkillSpace(
    names=(
        "counting",
        "addition",
        "subtraction",
        "multiplication",
        "division",
        "fractions",
        "equations",
        "word-problems",
    ),
    prerequisites={
        "addition": ("counting",),
        "subtraction": ("addition",),
        "multiplication": ("addition",),
        "division": ("multiplication", "subtraction"),
        "fractions": ("division",),
        "equations": ("subtraction", "multiplication"),
        "word-problems": ("equations",),
    },
    num_levels=3,
)


#: A skill tree in DataEnvGym's sense (skills with subskills): three arithmetic skills, each with
#: subskills that need it, under one root. The default skill space of the ``SkillTree`` family.
ARITHMETIC_TREE = SkillSpace(
    names=(
        "number-sense",
        "addition",
        "addition-with-carry",
        "column-addition",
        "subtraction",
        "subtraction-with-borrow",
        "multiplication",
        "times-tables",
        "long-multiplication",
    ),
    prerequisites={
        "addition": ("number-sense",),
        "addition-with-carry": ("addition",),
        "column-addition": ("addition",),
        "subtraction": ("number-sense",),
        "subtraction-with-borrow": ("subtraction",),
        "multiplication": ("number-sense",),
        "times-tables": ("multiplication",),
        "long-multiplication": ("multiplication", "addition-with-carry"),
    },
    num_levels=3,
)

#: Five independent tasks with three levels each (no prerequisites: for families about forgetting).
FIVE_TASKS = SkillSpace(names=tuple(f"task-{k}" for k in range(5)), num_levels=3)

#: Five sub-tasks in a chain, one level each: sub-task k needs sub-task k - 1 (TSCL's decimal addition,
#: where longer sums build on shorter ones, in latent form; for the Curriculum family).
TASK_CHAIN = SkillSpace(
    names=tuple(f"stage-{k}" for k in range(5)),
    prerequisites={f"stage-{k}": (f"stage-{k - 1}",) for k in range(1, 5)},
    num_levels=1,
)

#: Skill spaces by name, for the ``skills`` option of :class:`LatentDomain`.
SKILL_SPACES = {
    "arithmetic": ARITHMETIC_SKILLS,
    "arithmetic-tree": ARITHMETIC_TREE,
    "five-tasks": FIVE_TASKS,
    "task-chain": TASK_CHAIN,
}


class LatentDomain:
    """Items described only by their IRT difficulty, answered by a :class:`SimulatedStudent`.

    Item difficulty (logits) is ``b = skill_offset[k] + level_offset[l] + noise`` with
    ``level_offset`` evenly spaced over ``[-level_spread, +level_spread]`` and ``noise ~ N(0, item_sd)``.
    The answer of every item is 1 ("correct"); a simulated student responds 1 or 0.

    Args:
        skills: skill space, or the name of one in :data:`SKILL_SPACES` (default:
            :data:`ARITHMETIC_SKILLS`, 8 skills, 3 levels).
        seed: int >= 0; fixes the domain (skill offsets, held-out items); episodes vary only the
            student and the training stream.
        num_heldout: int >= 1, held-out items per (skill, level) in each of the validation and test
            splits.
        skill_spread: standard deviation of the per-skill difficulty offset, logits, in [0, 10].
        level_spread: half-range of the level offsets, logits, in [0, 10].
        item_sd: standard deviation of an item's difficulty around its (skill, level) mean, logits,
            in [0, 10].

    Raises:
        ConfigError: an argument of the wrong type or out of range.
    """

    view = "latent"
    #: :meth:`generate_each` draws from counter-based streams too (``random_numbers="counter"``).
    counter_draws = True

    def __init__(
        self,
        skills: SkillSpace | str = ARITHMETIC_SKILLS,
        *,
        seed: int = 0,
        num_heldout: int = 30,
        skill_spread: float = 0.5,
        level_spread: float = 1.5,
        item_sd: float = 0.3,
    ) -> None:
        if isinstance(skills, str) and skills in SKILL_SPACES:
            skills = SKILL_SPACES[skills]
        if not isinstance(skills, SkillSpace):
            raise ConfigError(
                f"{_OWNER} argument skills={skills!r} is invalid; expected a teachgym.skills.SkillSpace "
                f"or one of {sorted(SKILL_SPACES)}"
            )
        seed = check_int(_OWNER, "seed", seed, 0)
        num_heldout = check_int(_OWNER, "num_heldout", num_heldout, 1)
        skill_spread = check_real(_OWNER, "skill_spread", skill_spread, 0.0, _MAX_SPREAD)
        level_spread = check_real(_OWNER, "level_spread", level_spread, 0.0, _MAX_SPREAD)
        self.item_sd = check_real(_OWNER, "item_sd", item_sd, 0.0, _MAX_SPREAD)
        self.skills = skills
        structure, validation, test = np.random.SeedSequence(seed).spawn(3)
        rng = np.random.default_rng(structure)
        self.skill_offset = rng.normal(0.0, skill_spread, skills.num_skills)
        self.level_offset = (
            np.linspace(-level_spread, level_spread, skills.num_levels)
            if skills.num_levels > 1
            else np.zeros(1)
        )
        cells = np.arange(skills.num_skills * skills.num_levels)
        grid_skill = np.repeat(cells // skills.num_levels, num_heldout)
        grid_level = np.repeat(cells % skills.num_levels, num_heldout)
        self._heldout = {
            "validation": self.generate(grid_skill, grid_level, np.random.default_rng(validation)).readonly(),
            "test": self.generate(grid_skill, grid_level, np.random.default_rng(test)).readonly(),
        }

    def mean_difficulty(self) -> np.ndarray:
        """Mean difficulty of each (skill, level) cell, logits, shape ``(K, L)``."""
        return self.skill_offset[:, None] + self.level_offset[None, :]

    def generate(self, skill: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> Items:
        """Fresh items for the given (skill, level) pairs; continuous difficulties never repeat an
        item of another split."""
        skill = np.asarray(skill, dtype=np.int64)
        level = np.asarray(level, dtype=np.int64)
        difficulty = self.mean_difficulty()[skill, level] + rng.normal(0.0, self.item_sd, skill.shape)
        return Items(skill, level, np.ones_like(skill), difficulty=difficulty)

    def generate_each(
        self, skill: np.ndarray, level: np.ndarray, rngs: list[np.random.Generator] | CounterStreams
    ) -> Items:
        """``(n, M)`` items whose row ``i`` is what :meth:`generate` gives for row ``i`` from ``rngs[i]``
        (each row's noise drawn from its own generator, the rest at once), or whose noise is drawn
        from counter-based streams (row ``i`` from stream ``i``)."""
        skill = np.asarray(skill, dtype=np.int64)
        level = np.asarray(level, dtype=np.int64)
        if isinstance(rngs, CounterStreams):
            noise = self.item_sd * rngs.normal(skill.shape[1:])
        else:
            noise = np.stack([rng.normal(0.0, self.item_sd, skill.shape[1:]) for rng in rngs])
        difficulty = self.mean_difficulty()[skill, level] + noise
        return Items(skill, level, np.ones_like(skill), difficulty=difficulty)

    def heldout(self, split: str) -> Items:
        """The fixed held-out items of ``split`` (``"validation"`` or ``"test"``), shape
        ``(K * L * num_heldout,)``, grouped by (skill, level)."""
        if split not in _SPLITS:
            raise ConfigError(f"{_OWNER} has no held-out split {split!r}; expected one of {_SPLITS}")
        return self._heldout[split]

    grade = staticmethod(grade_exact)
