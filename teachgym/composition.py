"""Settings shared by every family and the construction of its parts (domain, student, engine)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from teachgym.config import require
from teachgym.domains import make_domain
from teachgym.engines import make_engine
from teachgym.objectives import TargetSkillGain, make_objective
from teachgym.students import make_student

#: Settings the text variants share: the ``arithmetic-text`` domain at one level (two-digit numbers)
#: with 7 x 20 = 140 held-out problems per split (an assessment of the tiny LM student takes under half
#: a second on one core), and the LM student with 8-example minibatches at learning rate 3e-3 (64
#: examples give 16 updates per pass). Measured (issue 5): trained on one skill alone, the tiny student
#: learns two-digit addition to ~0.5 in 1,500 examples; spread evenly over seven skills, an episode's
#: 1,536 examples teach it the comparisons only, so what a teacher focuses on matters.
TEXT_SETTINGS: dict[str, Any] = {
    "domain": "arithmetic-text",
    "domain_options": {"num_heldout": 20, "num_levels": 1},
    "student": "lm",
    "student_options": {"minibatch_size": 8, "learning_rate": 3e-3},
}

#: Where an episode's random numbers come from (``TeachingConfig.random_numbers``).
RANDOM_NUMBERS = ("generators", "counter")


def on_counter_draws(kwargs: dict[str, Any]) -> dict[str, Any]:
    """An env's keyword arguments on counter-based random numbers with multiscale forgetting (as
    ``Tutor-Sim-v1`` is ``Tutor-Sim-v0`` so), its own student options kept."""
    student = {**kwargs.get("student_options", {}), "forgetting": "multiscale"}
    return {**kwargs, "student_options": student, "random_numbers": "counter"}


@dataclass(frozen=True)
class TeachingConfig:
    """Keyword arguments every teaching env accepts (families may add their own).

    Attributes:
        domain: domain name (``teachgym.domains.DOMAINS``).
        domain_options: keyword options of the domain (e.g. ``{"seed": 1}``).
        student: student name (``teachgym.students.STUDENTS``).
        student_options: keyword options of the student (e.g. ``{"learning_rate": 0.02}``).
        engine: engine name (``teachgym.engines.ENGINES``): ``"procedural"`` (fresh items), ``"pool"``
            (selection from a finite pool), ``"noisy-teacher"`` (wrong answers at a set rate) or
            ``"llm"`` (examples written by a language model), for text domains.
        engine_options: keyword options of the engine (e.g. ``{"error_rate": 0.3}``).
        num_steps: teaching steps per episode; the episode is truncated after the last one.
        examples_per_step: training examples the engine produces per step.
        objective: reward name (``teachgym.objectives.OBJECTIVES``) or a callable: ``"mean-gain"``
            (the default: gain in mean validation accuracy over all skills) or ``"target-gain"``
            (SOAR-style: gain on a fixed hard subset of skills, named in ``objective_skills``).
        objective_skills: the skills ``"target-gain"`` rewards (names of the domain's skills), e.g. the
            ones a student starts furthest from; empty for every other objective.
        prior_examples: examples the fresh student learns at reset, before the teacher acts, spread
            over a random subset of its skills (0: none); not counted in the budget.
        prior_skill_fraction: the fraction of the skills (in (0, 1]) that subset holds, drawn per seed:
            the student starts knowing some skills and missing others (STAT's missing skills).
        random_numbers: ``"generators"`` (each episode's numpy generators, drawn in turn) or
            ``"counter"`` (counter-based draws, :mod:`teachgym.counter`: every draw of an episode a
            function of its seed, its step and what is drawn, made for all episodes at once, and a
            test nobody reads is not taken). ``"counter"`` needs a simulated student, a latent domain
            and the procedural engine; the two give different trajectories from the same seed.
    """

    domain: str = "sim"
    domain_options: dict[str, Any] = field(default_factory=dict)
    student: str = "simulated"
    student_options: dict[str, Any] = field(default_factory=dict)
    engine: str = "procedural"
    engine_options: dict[str, Any] = field(default_factory=dict)
    num_steps: int = 30
    examples_per_step: int = 40
    objective: Any = "mean-gain"
    objective_skills: Sequence[str] = ()
    prior_examples: int = 0
    prior_skill_fraction: float = 1.0
    random_numbers: str = "generators"

    def __post_init__(self) -> None:
        owner = "teaching env"
        require(
            self.random_numbers in RANDOM_NUMBERS,
            owner,
            "random_numbers",
            self.random_numbers,
            f"one of {list(RANDOM_NUMBERS)}",
        )
        skills = self.objective_skills
        require(
            isinstance(skills, (list, tuple)) and all(isinstance(name, str) for name in skills),
            owner,
            "objective_skills",
            skills,
            "a list of skill names",
        )
        object.__setattr__(self, "objective_skills", tuple(skills))
        targeted = self.objective == "target-gain"
        require(
            bool(skills) == targeted,
            owner,
            "objective_skills",
            skills,
            "skill names with objective='target-gain' and nothing with any other objective "
            f"(objective={self.objective!r})",
        )
        require(self.num_steps >= 1, owner, "num_steps", self.num_steps, "an int >= 1")
        require(
            1 <= self.examples_per_step <= 100_000,
            owner,
            "examples_per_step",
            self.examples_per_step,
            "an int in [1, 100000]",
        )
        prior = self.prior_examples
        require(
            isinstance(prior, int) and not isinstance(prior, bool) and 0 <= prior <= 1_000_000,
            owner,
            "prior_examples",
            prior,
            "an int in [0, 1000000]",
        )
        require(
            isinstance(self.prior_skill_fraction, (int, float))
            and not isinstance(self.prior_skill_fraction, bool)
            and 0 < self.prior_skill_fraction <= 1,
            owner,
            "prior_skill_fraction",
            self.prior_skill_fraction,
            "a number in (0, 1]",
        )
        if not targeted:
            make_objective(self.objective)  # refuse unknown names now, not at the first step

    def population(self, domain: Any, num_members: int) -> Any:
        """The student of these settings as a population of ``num_members`` (batched vector envs)."""
        return make_student(self.student, domain, num_members, self.student_options)

    def parts(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~teachgym.env.TeachingEnv` built from these settings."""
        domain = make_domain(self.domain, self.domain_options)
        return {
            "domain": domain,
            "student": make_student(self.student, domain, 1, self.student_options),
            "engine": make_engine(self.engine, domain, self.engine_options),
            "num_steps": self.num_steps,
            "examples_per_step": self.examples_per_step,
            "objective": self.objective_for(domain),
            "prior_examples": self.prior_examples,
            "prior_skill_fraction": self.prior_skill_fraction,
        }

    def objective_for(self, domain: Any) -> Any:
        """The objective of these settings for ``domain`` (``"target-gain"`` resolved to its skills)."""
        if self.objective != "target-gain":
            return self.objective
        return TargetSkillGain(tuple(domain.skills.index(name) for name in self.objective_skills))
