"""Teachers: the Teacher protocol, the name registry, and the baselines from the literature.

``teachgym.agents.make(name, task)`` builds a teacher from a task's read-only
:class:`TaskDescription` (``make(name, env)`` describes the env itself, and lends a privileged
reference teacher the :class:`PrivilegedView` it declares); ``teachgym.agents.names()`` lists them.
To add a teacher, write a class built as ``cls(task, **knobs)`` in a module here, decorate it with
:func:`register`, and import the module below. A teacher that lives elsewhere needs none of that:
``make("path/to/file.py:Class", env)``, ``make("package.module:Class", env)``, or an installed
package's entry point (:mod:`teachgym.agents.plugins`).
"""

from __future__ import annotations

# Importing a teacher module registers its teachers.
from teachgym.agents import (  # noqa: F401
    bandits,
    curriculum_designer,
    fixed_curricula,
    generic,
    human_curriculum,
    intervention,
    llm_teachers,
    oracle,
    pudf,
    rehearsal,
    skill_tree,
    stat,
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
    describe,
    make,
    names,
    register,
    runnable,
    source_hash,
    spec,
    supports,
    teacher_rng,
)
from teachgym.task import PrivilegedView, TaskDescription

__all__ = [
    "BaseTeacher",
    "FunctionTeacher",
    "PrivilegedView",
    "TaskDescription",
    "Teacher",
    "TeacherSpec",
    "as_teacher",
    "builds",
    "describe",
    "make",
    "names",
    "register",
    "runnable",
    "source_hash",
    "spec",
    "supports",
    "teacher_rng",
]
