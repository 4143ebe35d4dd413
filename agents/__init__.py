"""Teachers: the Teacher protocol, the name registry, and the baselines from the literature.

``teachgym.agents.make(name, env)`` builds a teacher; ``teachgym.agents.names()`` lists them. To add
a teacher, write a class in a module here, decorate it with :func:`register`, and import the module
below.
"""

from __future__ import annotations

# Importing a teacher module registers its teachers.
from teachgym.agents import (  # noqa: F401
    bandits,
    curriculum_designer,
    fixed_curricula,
    generic,
    intervention,
    llm_teachers,
    oracle,
    pudf,
    rehearsal,
    skill_tree,
    stat,
    text_baselines,
    tscl,
    tutoring,
)
from teachgym.agents.base import (
    BaseTeacher,
    FunctionTeacher,
    Teacher,
    TeacherSpec,
    as_teacher,
    builds,
    make,
    names,
    register,
    runnable,
    spec,
    supports,
    teacher_rng,
)

__all__ = [
    "BaseTeacher",
    "FunctionTeacher",
    "Teacher",
    "TeacherSpec",
    "as_teacher",
    "builds",
    "make",
    "names",
    "register",
    "runnable",
    "spec",
    "supports",
    "teacher_rng",
]
