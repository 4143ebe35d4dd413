"""Settings shared by every family and the construction of its parts (domain, student, engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teachgym.config import require
from teachgym.domains import make_domain
from teachgym.engines import make_engine
from teachgym.objectives import make_objective
from teachgym.students import make_student


@dataclass(frozen=True)
class TeachingConfig:
    """Keyword arguments every teaching env accepts (families may add their own).

    Attributes:
        domain: domain name (``teachgym.domains.DOMAINS``).
        domain_options: keyword options of the domain (e.g. ``{"seed": 1}``).
        student: student name (``teachgym.students.STUDENTS``).
        student_options: keyword options of the student (e.g. ``{"learning_rate": 0.02}``).
        engine: ``"procedural"`` (fresh items) or ``"pool"`` (selection from a finite pool).
        num_steps: teaching steps per episode; the episode is truncated after the last one.
        examples_per_step: training examples the engine produces per step.
        objective: reward name (``teachgym.objectives.OBJECTIVES``) or a callable.
    """

    domain: str = "sim"
    domain_options: dict[str, Any] = field(default_factory=dict)
    student: str = "simulated"
    student_options: dict[str, Any] = field(default_factory=dict)
    engine: str = "procedural"
    num_steps: int = 30
    examples_per_step: int = 40
    objective: Any = "mean-gain"

    def __post_init__(self) -> None:
        owner = "teaching env"
        require(self.num_steps >= 1, owner, "num_steps", self.num_steps, "an int >= 1")
        require(
            1 <= self.examples_per_step <= 100_000,
            owner,
            "examples_per_step",
            self.examples_per_step,
            "an int in [1, 100000]",
        )
        make_objective(self.objective)  # refuse unknown names now, not at the first step

    def parts(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~teachgym.env.TeachingEnv` built from these settings."""
        domain = make_domain(self.domain, self.domain_options)
        return {
            "domain": domain,
            "student": make_student(self.student, domain, 1, self.student_options),
            "engine": make_engine(self.engine, domain),
            "num_steps": self.num_steps,
            "examples_per_step": self.examples_per_step,
            "objective": self.objective,
        }
