"""Trained teachers: ``teachgym.agents.make("sb3:DIR", env)`` plays the policy ``teachgym train`` wrote to
``DIR`` as an :class:`SB3Teacher`.

:func:`load_teacher` reads ``DIR/teacher.json`` (:func:`read_metadata`; a folder of such folders holds
one teacher per env id, :func:`trained_teachers`), checks the family and the policy's spaces, and loads
``DIR/best_model.zip`` with the algorithm it names. The policy acts through the
:class:`~teachgym.rl.adapters.PolicyAdapter` of the task's spaces (the mapping is documented in
:mod:`teachgym.rl.adapters`); the vector-env adapter for training is :mod:`teachgym.rl.vec_env`.

**Loading an SB3 zip executes code from it** (SB3 stores parts of a model with cloudpickle): load only
files from a source you trust.
"""

from __future__ import annotations

import functools
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

from teachgym.agents.base import BaseTeacher
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rl.adapters import PolicyAdapter
from teachgym.rl.constants import ALGORITHMS, METADATA_FILE, MODEL_FILE
from teachgym.rl.policy_teacher import PolicyTeacher
from teachgym.task import TaskDescription

__all__ = [
    "SB3Teacher",
    "load_teacher",
    "read_metadata",
    "trained_teachers",
]

#: The entries of an SB3 model zip that must be there (``save_to_zip_file``).
_SB3_ZIP_ENTRIES = ("data", "policy.pth")


class SB3Teacher(PolicyTeacher, BaseTeacher):
    """A trained SB3 model as a :class:`~teachgym.agents.base.Teacher`: ``act`` is the model's
    deterministic ``predict`` on the adapted observation, mapped back by the adapter
    (:class:`~teachgym.rl.policy_teacher.PolicyTeacher`); ``reset`` and ``observe`` are
    :class:`~teachgym.agents.base.BaseTeacher`'s."""


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The metadata (``teacher.json``) of a trained teacher's folder, checked.

    :raises ConfigError: a missing folder or file, a file that is not a JSON object, or one without the
        keys a trained teacher needs (``env_id``, ``family``, ``algo``), naming the path.
    """
    folder = Path(directory)
    expected = f"a folder written by 'teachgym train' (with {MODEL_FILE} and {METADATA_FILE})"
    if not folder.is_dir():
        raise ConfigError(
            f"trained teacher folder {str(folder)!r} does not exist or is not a folder; expected {expected}"
        )
    path = folder / METADATA_FILE
    try:
        metadata = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{str(path)!r} is missing; expected {expected}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(
            f"{str(path)!r} is not a JSON teacher metadata file ({error}); expected {expected}"
        ) from None
    missing = [
        key for key in ("env_id", "family", "algo") if not isinstance(metadata, dict) or key not in metadata
    ]
    if missing:
        raise ConfigError(
            f"{str(path)!r} lacks {missing}; expected the metadata {METADATA_FILE} of {expected}"
        )
    if metadata["algo"] not in ALGORITHMS:
        raise ConfigError(
            f"{str(path)!r} names algo {metadata['algo']!r}; expected one of {sorted(ALGORITHMS)}"
        )
    return metadata


def trained_teachers(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Env id -> metadata (with its ``"folder"``) of the teachers in ``directory``: the one teacher a
    ``teachgym train`` folder holds, or one per env id for a folder of such folders (one teacher name,
    e.g. ``sb3:leaderboards/policies/ppo-v1``, for every task it was trained on).

    :raises ConfigError: as :func:`read_metadata`, or a folder with neither ``teacher.json`` nor
        subfolders holding one, or two subfolders trained on the same env id.
    """
    folder = Path(directory)
    if not folder.is_dir() or (folder / METADATA_FILE).exists():
        return {str((m := read_metadata(folder))["env_id"]): {**m, "folder": str(folder)}}
    found: dict[str, dict[str, Any]] = {}
    for sub in sorted(p for p in folder.iterdir() if (p / METADATA_FILE).is_file()):
        metadata = read_metadata(sub)
        env_id = str(metadata["env_id"])
        if env_id in found:
            raise ConfigError(
                f"{str(folder)!r} holds two teachers trained on {env_id}: {found[env_id]['folder']!r} and "
                f"{str(sub)!r}; expected one per env id"
            )
        found[env_id] = {**metadata, "folder": str(sub)}
    if not found:
        raise ConfigError(
            f"{str(folder / METADATA_FILE)!r} is missing; expected a folder written by 'teachgym train' "
            f"(with {MODEL_FILE} and {METADATA_FILE}), or a folder of such folders"
        )
    return found


def load_teacher(directory: str | Path, task: TaskDescription) -> SB3Teacher:
    """The teacher trained into ``directory`` by ``teachgym train``, for the described ``task`` (its
    family must be the one it was trained on, and its spaces those of the policy; another env id is
    allowed, e.g. to test transfer). For a folder of teachers (:func:`trained_teachers`), the one
    trained on the task's env id. ``teachgym.agents.make("sb3:DIR", env)`` calls this with the env's
    description.

    **Security:** an SB3 zip is partly cloudpickle data; loading one *executes code* from it. Load
    only files you trust (as with any pickle).

    :raises ConfigError: a missing folder, a malformed ``teacher.json``, a file that is not an SB3
        model zip or does not load (naming the path and what was expected).
    :raises UnsupportedError: another family, or spaces that do not match (naming both spaces).
    """
    teachers = trained_teachers(directory)
    name = task.env_id or f"a {task.family} env"
    # A folder of teachers picks the one trained on this env id; else, for transfer, its one
    # teacher of the task's family (the only teacher of a single-teacher folder, whose family is
    # checked below).
    metadata = teachers.get(str(task.env_id))
    if metadata is None:
        same_family = [m for m in teachers.values() if m["family"] == task.family]
        if len(teachers) == 1:
            metadata = next(iter(teachers.values()))
        elif len(same_family) == 1:
            metadata = same_family[0]
        else:
            raise UnsupportedError(
                f"{str(directory)!r} holds teachers for {sorted(teachers)}, none for {name}, and "
                f"{len(same_family)} of family {task.family!r}; use the folder of one of them"
            )
    directory = metadata["folder"]
    if metadata["family"] != task.family:
        raise UnsupportedError(
            f"the teacher in {str(directory)!r} was trained on {metadata['env_id']} (family "
            f"{metadata['family']!r}), not on the family {task.family!r} of {name}"
        )
    adapter = PolicyAdapter(task.observation_space, task.action_space, name=name)
    path = Path(directory) / str(metadata.get("model", MODEL_FILE))
    model = _load_model(path, metadata["algo"])
    return SB3Teacher(model, adapter, source=str(path))


def _load_model(path: Path, algo: str) -> Any:
    expected = f"a stable-baselines3 {algo.upper()} model zip saved by 'teachgym train'"
    try:
        stat = path.stat()
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except FileNotFoundError:
        raise ConfigError(f"{str(path)!r} is missing; expected {expected}") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise ConfigError(f"{str(path)!r} is not a zip file ({error}); expected {expected}") from None
    missing = [name for name in _SB3_ZIP_ENTRIES if name not in names]
    if missing:
        raise ConfigError(f"{str(path)!r} is a zip without {missing}; expected {expected}")
    return _load_model_cached(str(path.resolve()), algo, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_model_cached(path: str, algo: str, mtime_ns: int, size: int) -> Any:
    """One load per file version (a benchmark builds the teacher for every episode); the model is only
    read from (``predict``), so teachers can share it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SB3's notes on saved Python/torch versions
            return ALGORITHMS[algo].load(path, device="cpu")
    except Exception as error:  # SB3 raises many kinds (KeyError, pickle errors, RuntimeError)
        raise ConfigError(
            f"{path!r} could not be loaded as a stable-baselines3 {algo.upper()} model "
            f"({type(error).__name__}: {error}); expected a model saved by 'teachgym train'"
        ) from None
