"""Submitting a teacher to a leaderboard: ``teachgym leaderboard DIR --add RUN_DIR``.

``RUN_DIR`` is a sweep of the same suite (``teachgym bench SUITE --agents mine.py:Class --out
RUN_DIR``). Its teachers join ``DIR`` only if the two sweeps are comparable: the same suite and task
definitions, the same anchors (so scores share their scale) and the same seeds (so differences are
paired), and only teachers that ``DIR`` does not rank yet, each with every episode of every task
it acts on. Each refusal is one line naming what differs. Nothing is half-applied: ``DIR``'s
``results.jsonl`` and ``suite.json`` are rewritten atomically, the results first, then ``DIR`` is
rendered again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from teachgym.bench import records
from teachgym.errors import ConfigError
from teachgym.files import write_atomic, write_json_atomic


class SubmissionError(ConfigError):
    """A sweep that cannot join a leaderboard (the message says what differs)."""


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        raise SubmissionError(f"{folder} has no {name}; expected a folder written by 'teachgym bench'")
    return json.loads(path.read_text())


def _definition(suite: dict[str, Any]) -> tuple[Any, Any]:
    return suite.get("suite"), suite.get("tasks")


def _describe(suite: dict[str, Any]) -> str:
    return f"suite {suite.get('suite')!r} with tasks {json.dumps(suite.get('tasks'), sort_keys=True)}"


def _anchor_scale(anchors: dict[str, Any]) -> dict[str, Any]:
    """What fixes each task's score: the anchor definition and the two means."""
    keys = ("definition", "random", "reference")
    return {task: {k: entry.get(k) for k in keys} for task, entry in anchors.items()}


def add_run(board: Path, run: Path) -> list[str]:
    """Append the episodes of ``run``'s teachers to ``board`` and update its ``suite.json``; the
    teachers added, sorted (rendering is the caller's).

    Raises:
        SubmissionError: another suite or task definition, other anchors, other seeds, a teacher
            already on the board, a failed or missing episode, or nothing to add.
    """
    board_suite, run_suite = _read(board, "suite.json"), _read(run, "suite.json")
    if _definition(run_suite) != _definition(board_suite):
        raise SubmissionError(
            f"{run} is a sweep of {_describe(run_suite)}; {board} ranks {_describe(board_suite)}; "
            "sweep the board's suite with this teachgym version"
        )
    board_anchors, run_anchors = _anchor_scale(_read(board, "anchors.json")), _read(run, "anchors.json")
    differing = sorted(t for t, scale in board_anchors.items() if _anchor_scale(run_anchors).get(t) != scale)
    if differing:
        raise SubmissionError(
            f"{run}'s anchors differ from {board}'s on {differing}; scores on other anchors are on another "
            "scale (rerun the sweep with this teachgym version)"
        )
    seeds = board_suite.get("seeds")
    if run_suite.get("seeds") != seeds:
        raise SubmissionError(f"{run} ran {run_suite.get('seeds')} seeds; {board} ranks teachers on {seeds}")
    board_records = records.effective_records(records.read_records(board / "results.jsonl"))
    run_records = records.effective_records(records.read_records(run / "results.jsonl"))
    ranked = {r["agent"] for r in board_records}
    present = sorted({r["agent"] for r in run_records} & ranked)
    if present:
        raise SubmissionError(
            f"{run} holds teachers already on {board}: {present}; sweep only your own teacher "
            "(--agents mine.py:Class) and add that"
        )
    added = sorted({r["agent"] for r in run_records})
    if not added:
        raise SubmissionError(f"{run} holds no episodes to add")
    _check_complete(run, run_records, seeds)
    text = (board / "results.jsonl").read_text(encoding="utf-8")
    lines = [json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in run_records]
    write_atomic(board / "results.jsonl", text + "".join(lines))
    commands = list(dict.fromkeys([*board_suite.get("commands", []), *run_suite.get("commands", [])]))
    agents = sorted(set(board_suite.get("agents", [])) | set(added))
    write_json_atomic(board / "suite.json", {**board_suite, "commands": commands, "agents": agents})
    return added


def _check_complete(run: Path, run_records: Sequence[dict[str, Any]], seeds: int) -> None:
    """Refuse a teacher with a failed episode, or without every seed of a task it ran."""
    failed = sorted({(r["agent"], r["task"], r["seed"]) for r in run_records if r["status"] != "ok"})
    if failed:
        raise SubmissionError(
            f"{run} has failed episodes {failed[:3]} (of {len(failed)}); rerun it to retry them"
        )
    for agent, task in sorted({(r["agent"], r["task"]) for r in run_records}):
        have = {r["seed"] for r in run_records if (r["agent"], r["task"]) == (agent, task)}
        if have != set(range(seeds)):
            raise SubmissionError(
                f"{run}: teacher {agent!r} on {task} has seeds {sorted(have)[:5]}... ({len(have)}); "
                f"expected 0..{seeds - 1}"
            )
