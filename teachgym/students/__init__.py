"""Students: populations of learners that train on batches and answer held-out items.

To add a student, write a class with the :class:`~teachgym.students.base.Student` protocol in this
folder and a builder in :data:`STUDENTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from teachgym.config import parse_config
from teachgym.domains.base import Domain
from teachgym.errors import UnsupportedError
from teachgym.registry_utils import call_checked, load, lookup
from teachgym.students.base import Student


def _simulated(domain: Domain, num_members: int, options: Mapping[str, Any]) -> Student:
    from teachgym.students.simulated import SimulatedStudent, SimulatedStudentParams

    params = parse_config(SimulatedStudentParams, options, owner="student 'simulated'")
    return SimulatedStudent(domain.skills, num_members, params)


def _mlp(domain: Domain, num_members: int, options: Mapping[str, Any]) -> Student:
    cls = load("teachgym.students.mlp:MLPStudent")
    student: Student = call_checked(
        cls,
        options,
        "student 'mlp'",
        num_features=domain.num_features,  # type: ignore[attr-defined]
        num_classes=domain.num_classes,  # type: ignore[attr-defined]
        skills=domain.skills,
        num_members=num_members,
    )
    return student


#: Student name -> (the domain view it reads, builder ``(domain, num_members, options) -> Student``,
#: given as a function or as ``"module:function"`` imported on first use).
STUDENTS: dict[str, tuple[str, Any]] = {
    "simulated": ("latent", _simulated),
    "mlp": ("features", _mlp),
    "gru": ("sequence", "teachgym.students.sequence:build"),
    "lm": ("text", "teachgym.students.lm:build"),
}


def make_student(
    name: str, domain: Domain, num_members: int = 1, options: Mapping[str, Any] | None = None
) -> Student:
    """The student registered as ``name`` for ``domain``, a population of ``num_members``."""
    view, build = lookup(STUDENTS, name, "student")
    if isinstance(build, str):
        build = load(build)
    if domain.view != view:
        raise UnsupportedError(
            f"student {name!r} reads {view!r} items but domain {type(domain).__name__} "
            f"offers {domain.view!r} items"
        )
    student: Student = build(domain, num_members, options or {})
    return student


__all__ = ["STUDENTS", "Student", "make_student"]
