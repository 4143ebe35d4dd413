"""A sweep's results folder protects itself: one sweep at a time, and a resume that adds to what is
there only what belongs with it.

- :func:`locked`: a sweep holds ``DIR/.teachgym.lock`` (an exclusive ``flock``, released when the
  process ends, however it ends); a second sweep on ``DIR`` is refused in one line.
- :func:`check_resume`: a sweep into a folder that already holds one is refused if it asks for
  another number of seeds (more seeds are taken for every teacher already there at once), or if a
  teacher of your own (``--agent mine.py:Class``) changed since its episodes were recorded; it
  says that it resumes, and which teachers it adds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from teachgym.errors import ConfigError

#: The lock file in a results folder (git-ignored).
LOCK_FILE = ".teachgym.lock"


class FolderBusyError(ConfigError):
    """Another sweep holds the results folder."""


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock for the block (``out`` must exist).

    Raises:
        FolderBusyError: another process holds it (the message names its pid).
    """
    with open(out / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise FolderBusyError(
                f"{out} is in use by another sweep (pid {holder}); wait for it to end, or use another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_resume(
    out: Path,
    existing: Sequence[Mapping[str, Any]],
    seeds: int,
    planned: Mapping[str, Sequence[str]],
    source_hash: Any,
    quiet: bool,
) -> None:
    """Refuse a sweep that does not belong with the one in ``out``, and say what a resume adds.

    Args:
        existing: the effective records already in ``out``.
        seeds: the seed count asked for.
        planned: task -> the teachers this sweep runs on it.
        source_hash: ``name -> str | None``, the current source hash of a teacher
            (:func:`teachgym.agents.source_hash`).

    Raises:
        ConfigError: another seed count than the folder's (bar more seeds for all its teachers), or a
            plug-in teacher whose source changed.
    """
    suite_file = out / "suite.json"
    recorded_seeds = json.loads(suite_file.read_text()).get("seeds") if suite_file.exists() else None
    running = {a for agents in planned.values() for a in agents}
    known = {r["agent"] for r in existing}
    if recorded_seeds is not None and recorded_seeds != seeds:
        # More seeds for every teacher there is an extension; anything else would leave teachers
        # ranked on different seeds.
        if seeds < recorded_seeds or not known <= running:
            raise ConfigError(
                f"{out} holds a sweep of {recorded_seeds} seeds; this one asks for {seeds} with "
                f"teachers {sorted(running)}: pass --seeds {recorded_seeds} to add to it, or use another "
                "--out (a leaderboard compares teachers on the same seeds; more seeds are taken only for "
                "every teacher already there)"
            )
        if not quiet:
            print(f"extending {out} from {recorded_seeds} to {seeds} seeds", file=sys.stderr)
    for agent in sorted(running):
        before = {r["agent_source"] for r in existing if r["agent"] == agent} - {None}
        now = source_hash(agent)
        if before - {now}:
            count = sum(r["agent"] == agent for r in existing)
            raise ConfigError(
                f"teacher {agent!r} changed since its {count} episodes in {out} were recorded (source "
                f"{_short(before)} then, {_short({now})} now); use another --out, or remove its "
                "records to run it again"
            )
    if not existing or quiet:
        return
    wanted = sum(len(agents) for agents in planned.values()) * seeds
    ran = {(r["task"], r["agent"], r["seed"]) for r in existing if r["status"] == "ok"}
    have = sum(
        (task, agent, seed) in ran
        for task, agents in planned.items()
        for agent in agents
        for seed in range(seeds)
    )
    print(f"resuming: {have} of {wanted} episodes already recorded in {out}", file=sys.stderr)
    added = sorted(running - known)
    if added:
        print(f"adding teachers {added} to the {len(known)} already in {out}", file=sys.stderr)


def _short(hashes: set[str | None]) -> str:
    return ", ".join(sorted(str(h)[:19] + "..." if h else "none" for h in hashes))
