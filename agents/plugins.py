"""Teachers that live outside this repository, used by the same names as registered ones.

- ``"path/to/file.py:Class"``: the class ``Class`` of a Python file (a relative path is read from the
  current directory);
- ``"package.module:Class"``: the class of an importable module;
- an installed package's teachers, by the names under which it declares them in the entry-point group
  ``teachgym.teachers`` (``[project.entry-points."teachgym.teachers"] my-teacher =
  "my_package.teachers:MyTeacher"``).

The class is built as a registered one is, ``cls(task, **knobs)`` (a class whose constructor takes no
``task`` is built as ``cls(**knobs)``), and need only have ``act(obs, info)``: subclass
:class:`~teachgym.teacher.BaseTeacher` for ``reset``, ``observe``, ``self.task``, ``self.rng`` and the
spaces. It may declare, as class attributes, the action ``kinds`` it handles (default: every kind,
so it is offered every task it is asked to run), the observation keys it ``needs``, and the
``paper`` it follows; its summary is the first line of its docstring. A class that registered itself
with :func:`~teachgym.agents.register` on import keeps that registration. A plug-in never reads
privileged state.

:func:`source_hash` names the code a plug-in ran (the SHA-256 of its source file), which the
benchmark stores in each record so that a resumed sweep notices a teacher that changed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from teachgym.errors import ConfigError, UnknownNameError
from teachgym.task import ACTION_KINDS

#: The entry-point group in which installed packages declare teachers: ``name = "module:Class"``.
ENTRY_POINT_GROUP = "teachgym.teachers"


def is_spec(name: Any) -> bool:
    """Whether ``name`` is a ``"file.py:Class"`` or ``"module:Class"`` spec (``"sb3:DIR"`` is not)."""
    return isinstance(name, str) and ":" in name and not name.startswith("sb3:")


def installed() -> dict[str, str]:
    """Name -> ``"module:Class"`` of every teacher that an installed package declares in
    :data:`ENTRY_POINT_GROUP` (read from the packages' metadata; nothing is imported)."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_class(spec: str) -> type:
    """The class a ``"file.py:Class"`` or ``"module:Class"`` spec names (the file or module is
    imported once per process).

    Raises:
        UnknownNameError: the file, module or class does not exist, or the spec is malformed.
    """
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute.isidentifier():
        raise UnknownNameError(
            f"teacher spec {spec!r} is malformed; expected 'path/to/file.py:Class' or 'package.module:Class'"
        )
    module = _import_file(spec, Path(target)) if _is_file(target) else _import_module(spec, target)
    cls = getattr(module, attribute, None)
    if not inspect.isclass(cls):
        found = sorted(
            n
            for n, v in vars(module).items()
            if inspect.isclass(v) and hasattr(v, "act") and v.__module__ == module.__name__
        )
        raise UnknownNameError(
            f"teacher spec {spec!r}: {target} has no class {attribute!r}; classes with act() there: {found}"
        )
    return cls


def _is_file(target: str) -> bool:
    return target.endswith(".py") or "/" in target


def _import_file(spec: str, path: Path) -> Any:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise UnknownNameError(f"teacher spec {spec!r}: no such file {str(path)!r}")
    # One module per file, named after its path, so two files called mine.py do not collide.
    name = "teachgym_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UnknownNameError(f"teacher spec {spec!r}: cannot import {str(path)!r} as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # before running it: dataclasses and pickle look classes up here
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_module(spec: str, target: str) -> Any:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        if error.name is not None and target.startswith(error.name):
            raise UnknownNameError(
                f"teacher spec {spec!r}: no module {error.name!r} (for a file, give its path ending in .py)"
            ) from None
        raise


def factory(cls: type) -> Any:
    """``cls`` itself if it is built as ``cls(task, **knobs)``, else a builder ``(task, **knobs) ->
    cls(**knobs)`` whose signature lists ``cls``'s knobs (so unknown knobs are refused by name)."""
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    if parameters and parameters[0].name == "task":
        return cls

    @functools.wraps(cls, assigned=("__name__", "__qualname__", "__doc__"), updated=())
    def build(task: Any, **knobs: Any) -> Any:
        return cls(**knobs)

    knobs = [p.replace(kind=p.KEYWORD_ONLY) for p in parameters if p.kind not in (p.VAR_POSITIONAL,)]
    task = inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    build.__signature__ = inspect.Signature([task, *knobs])  # type: ignore[attr-defined]
    return build


def declared(cls: type, name: str) -> dict[str, Any]:
    """The registration fields a plug-in class declares (see the module docstring)."""
    if not callable(getattr(cls, "act", None)):
        raise ConfigError(f"teacher {name!r}: class {cls.__name__} has no act(obs, info) method")
    kinds = tuple(getattr(cls, "kinds", None) or ACTION_KINDS)
    unknown = [kind for kind in kinds if kind not in ACTION_KINDS]
    if unknown:
        raise ConfigError(f"teacher {name!r}: kinds={kinds} is invalid; expected some of {ACTION_KINDS}")
    doc = inspect.getdoc(cls) or ""
    return {
        "kinds": kinds,
        "needs": tuple(getattr(cls, "needs", ())),
        "paper": str(getattr(cls, "paper", "") or "plug-in teacher"),
        "summary": doc.strip().splitlines()[0] if doc.strip() else cls.__name__,
    }


def source_hash(cls: type) -> str | None:
    """``"sha256:<hex>"`` of the file that defines ``cls`` (None if it has no file, e.g. built in C)."""
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return None
    if path is None or not Path(path).is_file():
        return None
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
