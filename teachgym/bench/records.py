"""Benchmark records: one JSON object per line, one line per (env id, agent, seed) episode.

A results file is append-only: a rerun retries an episode whose records all failed by appending a
new record, so one key (:func:`key`) may have several records; :func:`effective_records` picks the
one that counts. Each record is written with one ``write`` of a whole line to a file
opened in append mode, then flushed and fsynced, under an exclusive ``flock``: concurrent writers
never interleave, and an interrupt can leave at most a truncated last line, which
:func:`read_records` detects and :func:`repair` cuts off (with a warning) before a sweep resumes.
No pickle: records are plain JSON.

Schema (version :data:`SCHEMA`): the fields of :class:`Record`, every key always present (records
of an earlier schema are read with the fields it lacked filled in, :data:`_UPGRADES`). The
validation (:data:`FIELDS`, :func:`check_record`) and the writers (the runner builds a
:class:`Record` per episode) read it from that one class.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from teachgym.errors import ConfigError
from teachgym.files import write_atomic

SCHEMA = 2
#: Schema 1 lacked ``agent_source``; its records are read as that field being None.
_UPGRADES = {1: {"agent_source": None}}


@dataclass(frozen=True)
class Record:
    """One episode of a sweep: one line of a results file (`to_dict` is what is written).

    Each field's `metadata["doc"]` says what it holds; `schema_table()` renders them."""

    schema: int = field(metadata={"doc": "the schema version, `SCHEMA`"})
    suite: str = field(metadata={"doc": "the suite swept, e.g. `core-v1`"})
    task: str = field(
        metadata={"doc": "the env id and its overrides' label, e.g. `SkillList-Sim-v0[forgetting]`"}
    )
    env_id: str = field(metadata={"doc": "the registered id, e.g. `teachgym/SkillList-Sim-v1`"})
    env_kwargs: dict[str, Any] = field(metadata={"doc": "the task's keyword overrides"})
    family: str = field(metadata={"doc": "the env's family"})
    agent: str = field(
        metadata={
            "doc": "the teacher's name, or the spec of one of your own (`path/to/mine.py:Class`, "
            "`package.module:Class`)"
        }
    )
    agent_source: str | None = field(
        metadata={
            "doc": "`sha256:<hex>` of a teacher of your own's source file, so that a resumed sweep "
            "notices a changed teacher; None for teachgym's teachers, whose code `git_revision` names "
            "(and in schema-1 records, which lack the key)"
        }
    )
    seed: int = field(
        metadata={"doc": "the episode's seed (the same seed is the same student under every teacher)"}
    )
    status: str = field(metadata={"doc": "`ok` or `failed`"})
    error: str | None = field(metadata={"doc": "None, or `ExceptionType: message (at file:line)` if failed"})
    reference: bool = field(
        metadata={"doc": "the agent reads privileged state (e.g. `oracle`): never ranked"}
    )
    score: float | None = field(
        metadata={
            "doc": "the family's normalized score, not clipped: 0 at `random`'s and 1 at the "
            "reference's mean test accuracy on the anchor seeds (`anchors.json`); None if failed "
            "(records of sweeps run before scores were unclipped hold scores clipped to [0, 1])"
        }
    )
    test_accuracy: float | None = field(metadata={"doc": "mean accuracy on the hidden test split at the end"})
    initial_test_accuracy: float | None = field(metadata={"doc": "the same at reset"})
    final_accuracy: float | None = field(metadata={"doc": "mean validation accuracy at the end"})
    initial_accuracy: float | None = field(metadata={"doc": "the same at reset"})
    validation_test_gap: float | None = field(metadata={"doc": "final validation minus test accuracy"})
    episode_return: float | None = field(metadata={"doc": "the sum of the episode's rewards"})
    curve: list[Any] = field(
        metadata={"doc": 'per step `{"step", "reward", "mean_accuracy", "examples_used"}`'}
    )
    final_profile: dict[str, Any] = field(metadata={"doc": "skill name -> validation accuracy at the end"})
    test_profile: dict[str, Any] = field(metadata={"doc": "skill name -> test accuracy at the end"})
    examples_used: int = field(metadata={"doc": "training examples the student learned from"})
    compute_used: int = field(metadata={"doc": "the student's training compute, in its own units"})
    family_info: dict[str, Any] = field(
        metadata={"doc": "the family's own end-of-episode entries (e.g. steps to threshold)"}
    )
    wall_time: float = field(metadata={"doc": "seconds the episode took"})
    version: str = field(metadata={"doc": "teachgym's version"})
    git_revision: str | None = field(
        metadata={"doc": "the code's git revision (`+dirty` if it had uncommitted changes)"}
    )
    command: str = field(metadata={"doc": "the exact command line of the sweep"})

    def to_dict(self) -> dict[str, Any]:
        """The record as written: every field, JSON types only."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _accepted(annotation: str) -> tuple[type, ...]:
    """The JSON types a field's annotation accepts (ints for floats, as JSON does not tell them apart)."""
    names = [part.strip().split("[")[0] for part in annotation.split("|")]
    types = {"int": (int,), "str": (str,), "bool": (bool,), "float": (float, int), "None": (type(None),)}
    types |= {"dict": (dict,), "list": (list,)}
    return tuple(t for name in names for t in types[name])


#: Key -> accepted JSON types, read from :class:`Record` (``type(None)`` where the value may be missing
#: for a failed episode).
FIELDS: dict[str, tuple[type, ...]] = {f.name: _accepted(str(f.type)) for f in fields(Record)}


def schema_table() -> str:
    """The schema as a Markdown table (field, JSON types, meaning), from :class:`Record`."""
    rows = ["| field | JSON types | meaning |", "| --- | --- | --- |"]
    for f in fields(Record):
        kinds = ", ".join(dict.fromkeys("null" if t is type(None) else t.__name__ for t in FIELDS[f.name]))
        rows.append(f"| `{f.name}` | {kinds} | {f.metadata['doc']} |")
    return "\n".join(rows) + "\n"


STATUSES = ("ok", "failed")


class SchemaError(ConfigError):
    """A results file holds a line that is not a valid record (the message names the line)."""


def key(record: dict[str, Any]) -> tuple[str, str, int]:
    """What identifies an episode in a sweep: (task, agent, seed)."""
    return (record["task"], record["agent"], record["seed"])


def effective_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The record that counts for each episode (:func:`key`), in the order of each key's first record.

    That is the successful record if the key has one (the latest, should there be several), else the
    latest failed one: a retried failure is superseded by its retry, and a failed attempt written after
    a success (e.g. by a concurrent sweep) does not undo it. Every reader of a results file (the
    runner's set of finished episodes, the report) uses this, so no episode counts twice.
    """
    chosen: dict[tuple[str, str, int], dict[str, Any]] = {}
    for record in records:
        episode = key(record)
        earlier = chosen.get(episode)
        if earlier is None or record["status"] == "ok" or earlier["status"] != "ok":
            chosen[episode] = record
    return list(chosen.values())


def check_record(record: Any, where: str) -> dict[str, Any]:
    """``record`` if it follows the schema, else a :class:`SchemaError` naming ``where`` and the key."""
    if not isinstance(record, dict):
        raise SchemaError(f"{where}: a record must be a JSON object, got {type(record).__name__}")
    upgrade = _UPGRADES.get(record.get("schema"))  # type: ignore[arg-type]
    if upgrade is not None and not set(upgrade) & set(record):
        record = {**record, **upgrade}
    missing = sorted(set(FIELDS) - set(record))
    extra = sorted(set(record) - set(FIELDS))
    if missing or extra:
        raise SchemaError(
            f"{where}: record keys differ from schema {SCHEMA}: missing {missing}, unexpected {extra}"
        )
    for name, types in FIELDS.items():
        value = record[name]
        if isinstance(value, bool) and bool not in types:
            raise SchemaError(f"{where}: {name}={value!r} is a bool; expected {[t.__name__ for t in types]}")
        if not isinstance(value, types):
            expected = [t.__name__ for t in types]
            raise SchemaError(
                f"{where}: {name}={value!r} has type {type(value).__name__}; expected {expected}"
            )
    if record["schema"] != SCHEMA and record["schema"] not in _UPGRADES:
        raise SchemaError(f"{where}: schema={record['schema']!r}; expected {SCHEMA} (or {sorted(_UPGRADES)})")
    if record["status"] not in STATUSES:
        raise SchemaError(f"{where}: status={record['status']!r}; expected one of {STATUSES}")
    if record["status"] == "ok" and record["score"] is None:
        raise SchemaError(f"{where}: an ok record needs a score")
    return record


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, complete) of every line; only the last can be incomplete (no newline)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line, line.endswith("\n")


def read_records(path: str | Path, *, allow_truncated_tail: bool = False) -> list[dict[str, Any]]:
    """Every record of a results file, checked against the schema.

    A last line without its newline is an interrupted write: with ``allow_truncated_tail`` it is
    skipped (see :func:`repair`), else refused like any other bad line.

    Raises:
        SchemaError: a line that is not a valid record, naming the file and line number.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line, complete in _lines(path):
        where = f"{path}:{number}"
        if not complete and allow_truncated_tail:
            break
        if not complete:
            raise SchemaError(
                f"{where}: truncated last line (an interrupted write); rerun the sweep to repair it"
            )
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SchemaError(f"{where}: not JSON ({error.msg})") from None
        records.append(check_record(record, where))
    return records


def repair(path: str | Path) -> int:
    """Cut off a truncated last line (an interrupted write), with a warning; the number of bytes cut.
    Reads and truncates under the same exclusive lock that writers take."""
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    cut = len(data) - keep
    warnings.warn(f"{path}: cut a truncated last line of {cut} bytes (an interrupted write)", stacklevel=2)
    return cut


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append one checked record as one line, atomically with respect to other writers and interrupts
    (exclusive lock, a single write, flush and fsync)."""
    check_record(record, "record to append")
    # No NaN or inf: JSON Lines readers (and the schema) take finite numbers only.
    line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    """The objects of a plain JSON Lines file (episode dicts, not schema-checked records); [] if it
    does not exist; a ConfigError naming ``path:line`` for a line that is not JSON."""
    path = Path(path)
    if not path.exists():
        return []
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}:{number}: not JSON ({error.msg})") from None
    return objects


def write_json_lines(path: str | Path, objects: Iterable[dict[str, Any]]) -> None:
    """Write ``objects`` as JSON Lines (sorted keys) to ``path`` atomically (:func:`write_atomic`)."""
    write_atomic(path, "".join(json.dumps(o, sort_keys=True) + "\n" for o in objects))
